import Foundation
import RillServer

exit(RillServerMain.run(arguments: Array(CommandLine.arguments.dropFirst())))
