import CEEMSCore

#if canImport(Glibc)
import Glibc
#endif

/// Gives the kernel back the code pages that only start-up needed.
///
/// At start-up the dynamic loader, the Swift runtime (metadata and conformance scans), argument parsing, config
/// loading and TLS set-up touch code all over the binary. The kernel maps more than the touched page: 64 KiB
/// around it (fault-around) and, on recent kernels whose file systems cache files in large folios (ext4 since
/// 6.16), the whole folio, up to megabytes. Those pages then count as resident for the life of the process
/// although serving a scrape runs a few hundred kilobytes of code.
///
/// So, once serving, the executable mappings are marked `MADV_RANDOM` (later faults read single pages, no
/// readahead into large folios) and `MADV_PAGEOUT` (Linux 5.4+) asks the kernel to reclaim them now, exactly as
/// memory pressure would: the pages the serving path uses fault back in, the rest are freed. Only `r-xp`
/// mappings are touched: code is never written, so nothing can be lost, and relocated read-only data (RELRO)
/// is left alone.
public enum ResidentPages {
    /// `MADV_PAGEOUT` from `<linux/mman.h>` (not exported by every Glibc module map).
    static let pageOutAdvice: Int32 = 21

    /// Advises page-out of every executable file mapping of this process; returns the bytes advised (0 when the
    /// kernel does not support it).
    @discardableResult
    public static func releaseCodePages() -> Int {
        guard let maps = try? SystemFile.readString("/proc/self/maps", limit: 4 << 20) else { return 0 }
        var advised = 0
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "r-xp", fields[5].hasPrefix("/") else { continue }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16),
                end > start, let address = UnsafeMutableRawPointer(bitPattern: start)
            else { continue }
            _ = madvise(address, Int(end - start), MADV_RANDOM)
            if madvise(address, Int(end - start), pageOutAdvice) == 0 { advised += Int(end - start) }
        }
        return advised
    }

    /// The resident set size of this process in bytes (`VmRSS`).
    public static func residentBytes() -> Int? {
        guard let status = try? SystemFile.readString("/proc/self/status", limit: 1 << 20) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let value = line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
            return value.map { $0 * 1024 }
        }
        return nil
    }
}
