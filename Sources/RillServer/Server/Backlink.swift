/// What other objects hold weakly in place of `target`, which owns it (and is its only strong owner, so it lives
/// exactly as long as `target`). A weak reference to `target` itself would give it a side table, and every retain
/// and release of it would then take Swift's slower side-table path: for a connection or its command context,
/// retained several times per request, that was 3% of the server's CPU for XADD over TLS at -P 1. The backlink
/// gets the side table instead, and is touched only when the weak reference is followed.
final class Backlink<Target: AnyObject> {
    unowned let target: Target

    init(_ target: Target) {
        self.target = target
    }
}
