/// ASCII bytes the RESP grammar is built from, named so the parsers read as the grammar.
@usableFromInline
enum ASCII {
    @usableFromInline static let carriageReturn: UInt8 = 0x0D
    @usableFromInline static let lineFeed: UInt8 = 0x0A
    @usableFromInline static let space: UInt8 = 0x20
    @usableFromInline static let tab: UInt8 = 0x09
    @usableFromInline static let nul: UInt8 = 0x00
    @usableFromInline static let asterisk: UInt8 = 0x2A
    @usableFromInline static let dollar: UInt8 = 0x24
    @usableFromInline static let minus: UInt8 = 0x2D
    @usableFromInline static let zero: UInt8 = 0x30
    @usableFromInline static let doubleQuote: UInt8 = 0x22
    @usableFromInline static let singleQuote: UInt8 = 0x27
    @usableFromInline static let backslash: UInt8 = 0x5C
}
