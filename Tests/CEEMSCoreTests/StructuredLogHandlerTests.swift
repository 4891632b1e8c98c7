import Logging
import Synchronization
import Testing

@testable import CEEMSCore

@Suite struct StructuredLogHandlerTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    @Test func logfmtLineLooksLikePromslog() {
        let lines = Lines()
        let logger = Logger(label: "test") { _ in
            StructuredLogHandler(format: .logfmt, level: .info, sink: { lines.append($0) })
        }
        logger.info("Listening on", metadata: ["address": "[::]:9010", "note": "two words", "quote": "a\"b"])
        logger.debug("hidden")
        #expect(lines.all.count == 1)
        let line = lines.all[0]
        #expect(line.hasPrefix("time="))
        #expect(line.contains(" level=INFO source=StructuredLogHandlerTests.swift:"))
        #expect(line.hasSuffix("msg=\"Listening on\" address=[::]:9010 note=\"two words\" quote=\"a\\\"b\""))
    }

    @Test func jsonLineIsValidAndOrdered() {
        let lines = Lines()
        let logger = Logger(label: "test") { _ in
            StructuredLogHandler(format: .json, level: .debug, sink: { lines.append($0) })
        }
        logger.warning("bad\nthing", metadata: ["err": "x"])
        let line = lines.all[0]
        #expect(line.hasPrefix("{\"time\":\""))
        #expect(line.contains("\"level\":\"WARN\""))
        #expect(line.hasSuffix("\"msg\":\"bad\\nthing\",\"err\":\"x\"}"))
    }

    @Test(arguments: [("debug", Logger.Level.debug), ("info", .info), ("warn", .warning), ("error", .error)])
    func parsesFlagLevels(flag: String, level: Logger.Level) {
        #expect(Logger.Level(flagValue: flag) == level)
    }

    @Test func rejectsUnknownLevels() {
        #expect(Logger.Level(flagValue: "verbose") == nil)
    }
}
