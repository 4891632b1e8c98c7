import CEEMSWeb

/// The request context of the API server: the peer address is needed by the rate limiter (§15 #24).
public typealias APIRequestContext = PeerAddressRequestContext
