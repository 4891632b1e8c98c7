import Foundation
import Logging
import Synchronization

/// Where ownership answers come from (§3, §12 #18): the database when its file exists (looked for again at most
/// every 10 s until it does), else the API server, else nothing, and then requests are refused with `503`.
public final class AccessControl: Sendable {
    let databasePath: String?
    let api: APIOwnershipVerifier?
    let logger: Logger
    let recheckInterval: Duration
    let state = Mutex<(database: SQLiteOwnershipVerifier?, lastLook: ContinuousClock.Instant?)>((nil, nil))

    /// - Parameter dataPath: `ceems_api_server.data.path` (relative to the working directory), or empty.
    public init(dataPath: String, api: APIOwnershipVerifier?, logger: Logger, recheckInterval: Duration = .seconds(10)) {
        if dataPath.isEmpty {
            databasePath = nil
        } else {
            let directory = dataPath.hasPrefix("/") ? dataPath : FileManager.default.currentDirectoryPath + "/" + dataPath
            databasePath = (directory as NSString).appendingPathComponent("ceems.db")
        }
        self.api = api
        self.logger = logger
        self.recheckInterval = recheckInterval
    }

    /// The verifier to use now; `nil` when neither the database nor the API is available.
    public func verifier() -> (any OwnershipVerifier)? {
        if let database = openDatabase() { return database }
        return api
    }

    func openDatabase() -> SQLiteOwnershipVerifier? {
        guard let databasePath else { return nil }
        let now = ContinuousClock.now
        return state.withLock { state in
            if let database = state.database { return database }
            if let last = state.lastLook, now - last < recheckInterval { return nil }
            state.lastLook = now
            guard FileManager.default.fileExists(atPath: databasePath) else { return nil }
            do {
                let database = try SQLiteOwnershipVerifier(path: databasePath, logger: logger)
                state.database = database
                logger.info("Using CEEMS database for access control", metadata: ["path": "\(databasePath)"])
                return database
            } catch {
                logger.error("Failed to open CEEMS database", metadata: ["path": "\(databasePath)", "err": "\(error)"])
                return nil
            }
        }
    }

    /// Start-up check (§7): every backend cluster id must be known to the database or the API server. Skipped,
    /// with a warning, when neither can be asked yet or the source knows no cluster at all.
    public func validate(backendClusterIDs: [String]) async throws {
        guard let verifier = verifier() else {
            logger.warning("CEEMS database not found and no API server configured: cluster IDs not validated")
            return
        }
        let known: [String]
        do {
            known = try await verifier.clusterIDs()
        } catch {
            logger.warning("Failed to fetch cluster IDs: backends not validated", metadata: ["err": "\(error)"])
            return
        }
        guard !known.isEmpty else {
            logger.warning("No compute units recorded yet: backend cluster IDs not validated")
            return
        }
        for id in backendClusterIDs where !known.contains(id) {
            throw LBError.unknownCluster(id: id, known: known)
        }
    }

    public func close() async {
        state.withLock { $0.database }?.close()
        await api?.shutdown()
    }
}
