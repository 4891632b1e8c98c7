// libFuzzer entry point for the byte and text parsers that read kernel files and tool outputs.
// Built by scripts/fuzz together with the parsers' source files (compiled as one module, so the parsers'
// internal functions are reachable). The first input byte picks the parser, the rest is its input.

import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let all = Array(UnsafeBufferPointer(start: data, count: size))
    let input = all[1...]
    let text = String(decoding: input, as: UTF8.self)
    switch all[0] % 31 {
    case 0: _ = CgroupFiles.pids(input)
    case 1: _ = CgroupFiles.cpusetCount(input)
    case 2: _ = CgroupFiles.singleValue(input); _ = CgroupFiles.isMax(input)
    case 3: _ = CgroupFiles.keyedValues(input, keys: ["user_usec", "system_usec", "anon", "file"])
    case 4: _ = CgroupFiles.populated(input); _ = CgroupFiles.pressureFullTotal(input)
    case 5: _ = CgroupFiles.ioStat(input)
    case 6: _ = CgroupFiles.blkioV1(input)
    case 7: _ = CgroupFiles.rdmaCurrent(input)
    case 8: _ = CgroupPathEscaping.unescape(text)
    case 9: _ = ProcessEnvironment.value(of: "SLURM_JOB_ID", in: input)
    case 10: _ = DiskStats.deviceNames(input)
    case 11: _ = RDMAOutput.resources(text, lengthKey: "mrlen"); _ = RDMAOutput.qpModes(text)
    case 12: _ = RDMAOutput.qpCounters(text)
    case 13: _ = try? ProcStat.parse(input); _ = CPUInfo.parse(input)
    case 14: _ = Meminfo.parse(input); _ = NetDev.parse(input)
    case 15: _ = IPMIOutputParser.parseText(text); _ = IPMIOutputParser.parseCapmc(text)
    case 16: _ = IPMIOutputParser.parseDCMIResponse(Array(input))
    case 17: _ = try? XMLDocument.parse(text)
    case 18: _ = try? NvidiaInventory.parse(xml: text)
    case 19: _ = try? AMDInventory.parse(text)
    case 20: _ = LibvirtDomain.parse(xml: text)
    case 21: _ = SlurmJobEnvironment.parse(input, requireJobID: nil); _ = Hostlist.expand(text)
    case 22:
        var reader = ProtobufReader(input)
        while let field = try? reader.next() { _ = field }
        _ = try? PodResourcesMessages.decodeList(Array(input))
    case 23: _ = Inotify.parse(input); _ = try? GPUOrderMap(parsing: text)
    // API server: stored JSON, sacct/sacctmgr output, query strings, times.
    case 24:
        if let value = JSONValue.parse(text) {
            var writer = JSONWriter()
            writer.value(value)
        }
        _ = MetricMap.parse(text)?.json
    case 25:
        let window = UpdateWindow(start: 1_709_506_800_000, end: 1_709_593_200_000, zone: TimeZone(identifier: "UTC")!)
        let units = SacctParser(clusterID: "c", window: window, now: 1_709_600_000_000).parse(text).units
        for unit in units {
            var writer = JSONWriter()
            unit.write(to: &writer)
        }
        _ = SacctParser.parseAssociations(text, clusterID: "c", lastUpdatedAt: "")
    case 26: _ = QueryParameters(text).encoded; _ = IPNetwork(text)?.contains(text)
    case 28:
        if let selectors = try? PromQL.selectors(in: text) { _ = UnitScope.of(selectors, unitLabel: "uuid") }
        _ = try? PromQL.metricSelector(text)
    case 29:
        let parts = RequestInspector.Parts(
            path: "/api/v1/query", rawQuery: text, body: Array(input), contentType: "application/x-www-form-urlencoded",
            contentEncoding: nil)
        _ = try? RequestInspector.scope(of: parts, kind: .tsdb)
        _ = RequestInspector.isAllowed(path: text, kind: .tsdb)
        let proto = RequestInspector.Parts(
            path: "/querier.v1.QuerierService/SelectMergeStacktraces", rawQuery: "", body: Array(input),
            contentType: "application/proto", contentEncoding: nil)
        _ = try? RequestInspector.scope(of: proto, kind: .pyroscope)
    case 30:
        for path in ["/api/v1/query", "/api/v1/series", "/api/v1/labels", "/api/v1/label/instance/values"] {
            _ = ResponseFilter.filter(Array(input), path: path, labels: ["instance"])
        }
    default:
        _ = WallClock.parse(text)
        _ = WallClock.parseWallTime(text, zone: TimeZone(identifier: "Europe/Paris")!)
        _ = SacctParser.parseMemory(text); _ = SacctParser.parseTRES(text)
    }
    return 0
}
