@testable import RillCore

/// The bytes of `text`, for readable keys and values in tests.
func keyspaceBytes(_ text: String) -> [UInt8] {
    Array(text.utf8)
}
