import RillCore
import RillProtocol
