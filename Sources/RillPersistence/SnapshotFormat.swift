// # The RILLSNAP snapshot format, version 1
//
// What earlier Rill versions wrote as snapshots and append-only bases. Rill now writes Redis' RDB format
// (RDBFile/RDBFileFormat.swift) and only reads this one (SnapshotReader), so an upgrade starts on the old files.
//
// All integers are little-endian. "varint" is unsigned LEB128 (7 bits per byte, low groups first, at most 10
// bytes). "bytes" is a varint length followed by that many raw bytes. "id" is a stream ID as two varints (ms, seq).
//
// ## File
//
//     offset 0   magic            8 bytes  "RILLSNAP"
//     offset 8   format version   u32      1 (readers refuse any other)
//     offset 12  sections ...
//
// ## Section
//
//     kind      u8
//     length    u64      payload bytes (must fit in the rest of the file)
//     payload   length bytes
//     checksum  u32      CRC-32C (Castagnoli) of kind, length and payload
//
// Kinds, in the order they must appear:
//
// - `0x01 INFO`, exactly once, first: varint creation time (Unix ms), varint number of databases of the writing
//   server, bytes producer ("rill <version>"). Loading fails when a key names a database the loading server does
//   not have.
// - `0x02 KEYS`, any number: varint database index, varint record count, then that many key records. A database's
//   keys may be spread over several KEYS sections (writers cut sections at about 1 MiB so neither side holds the
//   whole snapshot in memory; a key larger than that gets a KEYS section of its own, which the writer streams and
//   whose length it writes back at the end); a key appears once in the whole file.
// - `0xFF END`, exactly once, last: u64 total key count over all KEYS sections, then u32 CRC-32C of every file
//   byte before this section (magic included). Nothing may follow it.
//
// Any other kind is refused: new kinds require a new format version.
//
// ## Key record
//
//     type       u8       0 string, 1 list, 2 set, 3 stream
//     flags      u8       bit 0: a deadline follows; other bits must be 0
//     deadline   i64      absolute Unix time in milliseconds (only when flag bit 0)
//     key        bytes
//     value      the value body of `type`
//
// ## Value bodies (also the body of Rill's former DUMP payloads)
//
// - string: bytes.
// - list: varint count (>= 1), then count × bytes, head first.
// - set: varint count (>= 1), then count × bytes, distinct members in no order.
// - stream:
//
//       varint  length                  live entries (XLEN)
//       varint  entries-added
//       id      last-generated-id
//       id      max-deleted-entry-id
//       id      recorded-first-entry-id
//       varint  block count
//       block × count:
//           id      master ID (first record's ID)
//           varint  master field count (>= 1)
//           bytes   the block's element area exactly as `StreamBlock` stores it (master field names, then
//                   records; see StreamBlock.swift and StreamEncoding.swift), decoded with bounds checks and
//                   every count, ID and size recomputed on load
//       varint  extension count
//       extension × count:
//           u8      tag
//           bytes   payload
//
//   Extensions appear at most once per tag; readers refuse an unknown tag rather than silently dropping state.
//   A stream without consumer groups is written with extension count 0.
//
//   Tag `0x02`, idempotent production (Redis 8.6; written when the stream used XADD IDMP/IDMPAUTO or XCFGSET):
//
//       varint  IDMP-DURATION seconds (1..86400)
//       varint  IDMP-MAXSIZE (1..10000)
//       varint  iids-added
//       varint  iids-duplicates
//       varint  record count
//       record × count (grouped by producer, each producer's records oldest first):
//           bytes   producer ID (non-empty)
//           bytes   idempotent ID (non-empty, distinct per producer)
//           id      the entry it created (<= last-generated-id)
//           i64 LE  unix ms when recorded
//
//   Tag `0x03`, pending entries released by XNACK (Redis 8.8; they have no owner, so tag 0x01 leaves them out).
//   Written after tag 0x01, only when some group has such entries:
//
//       varint  group count
//       group × count:
//           bytes   group name (a group of tag 0x01)
//           varint  entry count
//           entry × count (ascending IDs, none pending otherwise):
//               id      entry ID
//               i64 LE  delivery time (0 after XNACK)
//               varint  delivery count
//
//   Tag `0x04`, Rill's consumer-group policy (XGROUP SETPOLICY). Written after tag 0x01, only when
//   some group has a policy or a non-zero dead-lettered counter:
//
//       varint  group count
//       group × count:
//           bytes   group name (a group of tag 0x01, each named once)
//           u8      flags: bit 0 set when dead-lettering is on; other bits must be 0
//           (bit 0 set) varint max-deliveries (>= 1), bytes dead-letter key
//           varint  consumer-idle-timeout ms (0: off; <= 2^63-1)
//           varint  dead-lettered count
//
//   Tag `0x01`, consumer groups (written when the stream has at least one group; the payload must be consumed
//   exactly):
//
//       varint  group count
//       group × count (any order; names distinct):
//           bytes   name
//           id      last-delivered-id
//           u8      0: entries-read unknown; 1: known, and a varint entries-read (<= 2^63-1) follows
//           varint  consumer count
//           consumer × count (names strictly ascending):
//               bytes   name
//               i64     seen-time (Unix ms)
//               i64     active-time (Unix ms, -1 when never active)
//               varint  number of pending entries it owns (checked against the PEL below)
//           varint  PEL count
//           PEL entry × count (IDs strictly ascending, each <= the stream's last-generated-id):
//               id      entry ID
//               varint  owner: index of the consumer in the list above
//               i64     last delivery time (Unix ms)
//               varint  delivery count
//
//   A consumer's own PEL is exactly the PEL entries naming it, so it is not written separately.

// ## Former DUMP payload (DUMP now writes Redis' format, see DumpPayload.swift; RESTORE still reads this one so
// ## that append-only files logged by older versions replay)
//
//     type      u8        as in key records
//     value     value body
//     version   u16       1 (the snapshot format version the body follows)
//     checksum  u32       CRC-32C of everything before it
//
// ## Durability of writes
//
// Snapshots were written to `temp-<pid>-<n>.rill` in the target directory, fsynced, renamed over the target name,
// and the directory fsynced; RDB files are written the same way (SnapshotFiles.writeAtomically, `.rdb`).

/// Constants of the RILLSNAP format; the layout is described at the top of this file.
public enum SnapshotFormat {
    /// The first eight bytes of every snapshot.
    public static let magic: [UInt8] = Array("RILLSNAP".utf8)
    /// The format version this code writes and the only one it reads.
    public static let version: UInt32 = 1
    /// Bytes of magic and version.
    static let fileHeaderSize = 12
    /// Bytes of a section's kind and length.
    static let sectionHeaderSize = 9
    /// Bytes of a section's trailing checksum.
    static let sectionChecksumSize = 4
    /// A KEYS section is closed once its payload reaches this many bytes.
    static let keysSectionTargetBytes = 1 << 20

    enum SectionKind: UInt8 {
        case info = 0x01
        case keys = 0x02
        case end = 0xFF
    }

    /// Key record flag: a deadline follows.
    static let hasDeadlineFlag: UInt8 = 1
}

/// A snapshot or DUMP payload that cannot be loaded: where (byte offset from the start of the file or payload) and
/// why.
public struct SnapshotError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Byte offset of the problem from the start of the file (or payload); nil for I/O errors not tied to one.
    public var offset: Int?
    /// What is wrong.
    public var reason: String

    public init(offset: Int?, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String {
        offset.map { "offset \($0): \(reason)" } ?? reason
    }
}
