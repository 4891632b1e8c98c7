import CEEMSCore
import CEEMSTestSupport
import Foundation
import Testing

@testable import CEEMSLinux

#if canImport(Glibc)
import Glibc
#endif

@Suite struct PosixACLTests {
    @Test func grantsAUserAndWidensTheMask() throws {
        var acl = PosixACL(mode: 0o640)
        acl.grant(user: 65534, permissions: 4)
        #expect(acl.entries.map(\.tag) == [0x01, 0x02, 0x04, 0x10, 0x20])
        #expect(acl.permissions(ofUser: 65534) == 4)
        #expect(acl.entries.first { $0.tag == 0x10 }?.permissions == 4)
        // A second grant to the same user adds to its entry; the byte form reads back the same.
        acl.grant(user: 65534, permissions: 1)
        #expect(acl.permissions(ofUser: 65534) == 5)
        #expect(PosixACL(bytes: acl.bytes) == acl)
        #expect(PosixACL(bytes: [1, 0, 0, 0]) == nil)
        #expect(PosixACL(bytes: Array(acl.bytes.dropLast())) == nil)
    }

    @Test func originalsSurviveTheirTextForm() {
        let original = PosixACL.Original(path: "/tmp/a b:c;d", mode: 0o600, attribute: [2, 0, 0, 0, 1, 0, 6, 0])
        #expect(PosixACL.Original(encoded: Substring(original.encoded)) == original)
        let plain = PosixACL.Original(path: "/etc/ceems/web.yml", mode: 0o640, attribute: nil)
        #expect(PosixACL.Original(encoded: Substring(plain.encoded)) == plain)
        #expect(PosixACL.Original(encoded: "zz:600:-") == nil)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to check another user's access"))
    func aGrantGivesAccessAndItsRestoreTakesItBack() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/secret"
        try "x".write(toFile: file, atomically: false, encoding: .utf8)
        chmod(file, 0o600)
        chmod(directory, 0o700)
        let nobody = try Privileges.user("nobody")
        #expect(!Privileges.canAccess(nobody, file, mode: R_OK))
        var originals: [PosixACL.Original] = []
        try Privileges.add(.init(file, .read), for: nobody, into: &originals)
        // The parents it could not search (the temporary directory) and the file itself.
        #expect(originals.map(\.path).contains(directory))
        #expect(originals.last?.path == file)
        #expect(Privileges.canAccess(nobody, file, mode: R_OK))
        #expect(!Privileges.canAccess(nobody, file, mode: W_OK))
        for original in originals.reversed() { try PosixACL.restore(original) }
        #expect(!Privileges.canAccess(nobody, file, mode: R_OK))
        var info = stat()
        stat(file, &info)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try PosixACL.read(file).original.attribute == nil)
    }
}
