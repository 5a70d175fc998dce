import RillProtocol
import Testing

/// Compares the decoder with answers recorded from redis-server 7.0.15 (RedisGoldenData.swift).
///
/// The data was produced by a throwaway script: for inline lines it sent `DEL k` then `RPUSH k <fragment>\r\n` and
/// read the list back with LRANGE (or recorded the protocol error); for integers it sent `*<text>\r\nPING\r\n` and
/// `*1\r\n$<text>\r\nPING\r\n` and classified the reply. Fragments mix quotes, escapes and every whitespace byte.
@Suite("Golden answers from redis-server")
struct RedisGoldenTests {
    @Test("inline lines split exactly as Redis splits them")
    func inlineLines() {
        #expect(redisInlineGoldenCases.count > 500)
        for (fragment, expected) in redisInlineGoldenCases {
            let line = Array("RPUSH k ") + fragment + Array("\r\n")
            let outcome = decode(line)
            let rendered = String(decoding: fragment, as: UTF8.self).debugDescription
            if let expected {
                #expect(outcome == DecodeOutcome(commands: [[Array("RPUSH"), Array("k")] + expected]), "\(rendered)")
            } else {
                #expect(outcome.error == .unbalancedQuotes, "\(rendered): \(outcome)")
            }
        }
    }

    @Test("multibulk counts parse exactly as Redis parses them")
    func multibulkCounts() {
        for (text, redisOutcome) in redisMultibulkCountGoldenCases {
            let outcome = decode(Array("*") + text + Array("\r\nPING\r\n"))
            let ours: String
            if outcome.error == .invalidMultibulkLength {
                ours = "invalid"
            } else if outcome.commands == [[Array("PING")]] && outcome.error == nil {
                ours = "skipped"
            } else if outcome.error == .expectedDollar(got: UInt8(ascii: "P")) {
                ours = "positive"
            } else {
                ours = "\(outcome)"
            }
            #expect(ours == redisOutcome, "\(String(decoding: text, as: UTF8.self).debugDescription)")
        }
    }

    @Test("bulk lengths parse exactly as Redis parses them")
    func bulkLengths() {
        for (text, redisOutcome) in redisBulkLengthGoldenCases {
            let outcome = decode(Array("*1\r\n$") + text + Array("\r\nPING\r\n"))
            let ours: String
            if outcome.error == .invalidBulkLength {
                ours = "invalid"
            } else if outcome.commands == [[Array("PING")]] && outcome.error == nil {
                ours = "four"
            } else if outcome.commands.isEmpty && outcome.error == nil {
                ours = "waiting"
            } else if let first = outcome.commands.first, first.count == 1 {
                ours = "other"
            } else {
                ours = "\(outcome)"
            }
            #expect(ours == redisOutcome, "\(String(decoding: text, as: UTF8.self).debugDescription)")
        }
    }
}

/* The generator (Python 3, run against `redis-server --port 7391 --save '' --appendonly no`):
   python3 generate.py Tests/RillProtocolTests/RedisGoldenData.swift

import socket, random, sys
PORT=7391
def conn():
    s = socket.create_connection(("127.0.0.1", PORT)); return s
def probe(data, timeout=0.3):
    s = conn(); s.sendall(data); s.settimeout(timeout); out=b""
    try:
        while True:
            d = s.recv(65536)
            if not d: out += b"<CLOSED>"; break
            out += d
    except socket.timeout: pass
    s.close(); return out
def cmd(*a):
    out = b"*%d\r\n" % len(a)
    for x in a:
        x = x.encode() if isinstance(x,str) else x
        out += b"$%d\r\n%s\r\n" % (len(x), x)
    return out
def read_array(s):
    f = s.makefile('rb')
    line = f.readline(); assert line[:1]==b'*', line
    n = int(line[1:-2]); res=[]
    for _ in range(n):
        h = f.readline(); ln = int(h[1:-2]); res.append(f.read(ln+2)[:-2])
    return res
rng = random.Random(20240607)
frags = [b"a", b"bc", b" ", b"  ", b"\t", b"\x0b", b"\x0c", b"\r", b'"', b"'", b"\\", b"\\x41", b"\\x4g", b"\\xZZ", b"\\x7", b"\\n", b"\\t",
         b"\\'", b'\\"', b"x", b"\xc3\xa9", b"\xff", b'""', b"''", b'"q q"', b"'s s'", b"\\\\", b"\\a", b"\\b", b"\\r", b"\\z"]
inline_cases = []
seen=set()
dq_inner = [b"a", b" ", b"\\x41", b"\\x4g", b"\\xfF", b"\\x", b"\\n", b"\\r", b"\\t", b"\\b", b"\\a", b"\\\\", b'\\"', b"\\'", b"'", b"\\q", b"\xff", b"\t", b"\x0b", b"\r"]
sq_inner = [b"a", b" ", b"\\'", b"\\", b"\\n", b'"', b"\xff", b"\t", b"\r", b"\\x41"]
plain = [b"a", b"bc", b"\\", b"\\n", b"\xff", b"\x0b", b"\x0c", b"z9"]
seps = [b" ", b"  ", b"\t", b"\x0b", b"\x0c", b"\r", b" \x0b"]
def word():
    k = rng.random()
    if k < 0.4:
        w = b'"' + b"".join(rng.choice(dq_inner) for _ in range(rng.randint(0,4))) + b'"'
    elif k < 0.7:
        w = b"'" + b"".join(rng.choice(sq_inner) for _ in range(rng.randint(0,4))) + b"'"
    else:
        w = b"".join(rng.choice(plain) for _ in range(rng.randint(1,3)))
    if rng.random() < 0.15: w = rng.choice(plain) + w
    return w
def structured():
    n = rng.randint(1,4); out = b""
    for i in range(n):
        out += word()
        if i < n-1 or rng.random() < 0.3: out += rng.choice(seps)
    if rng.random() < 0.1: out += rng.choice([b"x", b'"', b"'"])
    return out
while len(inline_cases) < 560:
    if len(inline_cases) < 200:
        frag = b"".join(rng.choice(frags) for _ in range(rng.randint(1, 7)))
    else:
        frag = structured()
    if frag in seen: continue
    seen.add(frag)
    line = b"RPUSH k " + frag + b"\r\n"
    s = conn(); s.sendall(cmd("DEL","k") + line); s.settimeout(0.5)
    buf=b""
    try:
        while buf.count(b"\r\n") < 2 and b"<" not in buf:
            d = s.recv(65536)
            if not d: buf += b"<CLOSED>"; break
            buf += d
    except socket.timeout:
        print("timeout", frag, buf, file=sys.stderr); s.close(); continue
    s.close()
    reply = buf.split(b"\r\n",1)[1]
    if reply.startswith(b"-ERR Protocol error: unbalanced quotes"):
        inline_cases.append((frag, None))
    elif reply.startswith(b"-ERR wrong number"):
        inline_cases.append((frag, []))
    elif reply.startswith(b":"):
        s = conn(); s.sendall(cmd("LRANGE","k","0","-1")); args = read_array(s); s.close()
        inline_cases.append((frag, args))
    else:
        print("unexpected", frag, reply, file=sys.stderr)
# integer grammar
alphabet = "0123456789-+ x"
ints = ["0","1","-1","-0","00","01","+1"," 1","1 ","", "-", "--1", "2147483647","2147483648","-2147483648","9223372036854775807",
        "9223372036854775808","-9223372036854775808","-9223372036854775809","18446744073709551616","99999999999999999999","536870912","536870913",
        "4","04","4x","0x4","1e3","١"]
while len(ints) < 120:
    n = rng.randint(0, 6); s = "".join(rng.choice(alphabet) for _ in range(n))
    if s not in ints: ints.append(s)
count_cases=[]; len_cases=[]
for t in ints:
    b = t.encode()
    r = probe(b"*" + b + b"\r\nPING\r\n")
    if r.startswith(b"-ERR Protocol error: invalid multibulk length"): out="invalid"
    elif r == b"+PONG\r\n": out="skipped"
    elif r.startswith(b"-ERR Protocol error: expected '$', got 'P'"): out="positive"
    else: print("?count", t, r, file=sys.stderr); continue
    count_cases.append((b,out))
    r = probe(b"*1\r\n$" + b + b"\r\nPING\r\n")
    if r.startswith(b"-ERR Protocol error: invalid bulk length"): out="invalid"
    elif r == b"+PONG\r\n": out="four"
    elif r == b"": out="waiting"
    elif r.startswith(b"-ERR unknown command"): out="other"
    else: print("?len", t, r, file=sys.stderr); continue
    len_cases.append((b,out))
def sw(b): return "[" + ", ".join("0x%02x" % c for c in b) + "]"
with open(sys.argv[1], "w") as f:
    f.write("// Generated from redis-server 7.0.15 by sending each input over a socket and recording its reply.\n")
    f.write("// Do not edit by hand; the generator is described in RedisGoldenTests.swift.\n\n")
    f.write("/// Inline fragments: the line `RPUSH k <fragment>\\r\\n`; expected = elements pushed, nil = unbalanced quotes.\n")
    f.write("let redisInlineGoldenCases: [(fragment: [UInt8], expected: [[UInt8]]?)] = [\n")
    for frag, exp in inline_cases:
        e = "nil" if exp is None else "[" + ", ".join(sw(a) for a in exp) + "]"
        f.write("    (%s, %s),\n" % (sw(frag), e))
    f.write("]\n\n")
    f.write("/// `*<text>\\r\\nPING\\r\\n`: invalid = invalid multibulk length, skipped = PING runs, positive = count accepted.\n")
    f.write("let redisMultibulkCountGoldenCases: [(text: [UInt8], outcome: String)] = [\n")
    for b,o in count_cases: f.write('    (%s, "%s"),\n' % (sw(b), o))
    f.write("]\n\n")
    f.write("/// `*1\\r\\n$<text>\\r\\nPING\\r\\n`: invalid = invalid bulk length, four = PING runs, waiting = more bytes needed,\n/// other = some other single argument.\n")
    f.write("let redisBulkLengthGoldenCases: [(text: [UInt8], outcome: String)] = [\n")
    for b,o in len_cases: f.write('    (%s, "%s"),\n' % (sw(b), o))
    f.write("]\n")
print(len(inline_cases), len(count_cases), len(len_cases), file=sys.stderr)
*/
