/// A Redis stream value. (Placeholder: the packed-block implementation replaces this file.)
public struct Stream: Sendable {
    public init() {}
}
