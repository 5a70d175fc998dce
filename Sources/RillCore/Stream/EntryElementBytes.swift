/// The byte containers `Stream.append` accepts for fields and values: owned arrays, or borrowed buffers that are
/// copied into the stream during the call.
public protocol EntryElementBytes {
    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result
}

extension Array: EntryElementBytes where Element == UInt8 {}

extension UnsafeRawBufferPointer: EntryElementBytes {
    @inlinable
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(self)
    }
}
