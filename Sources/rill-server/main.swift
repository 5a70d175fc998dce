import RillServer
