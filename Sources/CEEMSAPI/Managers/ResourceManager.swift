import Foundation

/// The window of one update, and the zone its times are rendered in.
public struct UpdateWindow: Sendable {
    /// Epoch milliseconds.
    public var start: Int64
    public var end: Int64
    public var zone: TimeZone

    public init(start: Int64, end: Int64, zone: TimeZone) {
        self.start = start
        self.end = end
        self.zone = zone
    }
}

/// A cluster's source of units, users and projects (SLURM, OpenStack, Kubernetes).
public protocol ResourceManager: Sendable {
    var clusterID: String { get }
    var kind: String { get }
    /// Units active in the window (running, or ended within it).
    func fetchUnits(window: UpdateWindow) async throws -> [ComputeUnit]
    /// Users and projects with their memberships.
    func fetchUsersAndProjects(window: UpdateWindow) async throws -> ([User], [Project])
    /// Releases clients (at shutdown).
    func shutdown() async
}

extension ResourceManager {
    public func shutdown() async {}
}

/// Errors of resource managers.
public enum ResourceManagerError: Error, CustomStringConvertible {
    case command(String)
    case unsupported(String)
    case invalidConfig(cluster: String, reason: String)

    public var description: String {
        switch self {
        case .command(let reason): reason
        case .unsupported(let manager): "resource manager \(manager) is not supported by this build"
        case .invalidConfig(let cluster, let reason): "cluster \(cluster): \(reason)"
        }
    }
}
