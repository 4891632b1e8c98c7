import Hummingbird
import NIOCore

/// A request context with the peer address of the connection (rate limiting and `X-Forwarded-For` need it).
public struct PeerAddressRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
