import Hummingbird
import NIOCore

/// The request context of the API server: Hummingbird's core storage plus the peer address (rate limiting keys on
/// it, §15 #24).
public struct APIRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
