import NIOCore
/// RESP protocol version negotiated by HELLO. (Placeholder.)
public enum RESPVersion: Int, Sendable { case v2 = 2, v3 = 3 }
