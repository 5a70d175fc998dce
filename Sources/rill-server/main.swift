#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RillServer

exit(RillServerMain.run(arguments: Array(CommandLine.arguments.dropFirst())))
