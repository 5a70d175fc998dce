import NIOCore

/// RESP protocol version a connection speaks, chosen by `HELLO`. Every connection starts on ``v2``.
///
/// The version only changes how replies are encoded (see ``RESPWriter``); requests are decoded the same way in both.
public enum RESPVersion: Int, Sendable { case v2 = 2, v3 = 3 }
