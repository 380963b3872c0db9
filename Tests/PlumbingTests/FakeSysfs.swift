import Foundation
@testable import Plumbing

/// A sysfs tree shaped like the kernel's, in a temporary directory: real directories
/// under devices/, and the same symlinks the kernel makes (bus/pci/devices/BDF,
/// virtfnN -> ../BDF, physfn, driver -> .../bus/pci/drivers/X, iommu_group,
/// class/net/IF -> the device's net/IF). Two PFs: an Intel 82599 with 63 VFs, and an
/// Intel I210 without SR-IOV.
final class FakeSysfs: @unchecked Sendable {
    let root: String
    let sriovPF = "0000:03:00.0"
    let sriovNetdev = "eth4"
    let plainPF = "0000:04:00.0"
    let plainNetdev = "eth5"
    private let lock = NSLock()
    private var _writes: [(String, String)] = []

    /// Every write the code under test made, as (path under /sys, value).
    var writes: [(String, String)] { lock.withLock { _writes } }

    init() throws {
        root = NSTemporaryDirectory() + "vfp-sysfs-\(getpid())-\(UUID().uuidString.prefix(8))"
        for driver in ["ixgbe", "ixgbevf", "igb", "vfio-pci"] {
            try mkdir("bus/pci/drivers/\(driver)")
            try file("bus/pci/drivers/\(driver)/bind", "")
            try file("bus/pci/drivers/\(driver)/unbind", "")
        }
        try file("bus/pci/drivers_probe", "")
        try mkdir("class/net")
        try mkdir("kernel/mm/hugepages/hugepages-2048kB")
        try file("kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "0")
        try file("kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0")
        try addDevice(
            sriovPF, device: "0x10fb", driver: "ixgbe", netdev: sriovNetdev, mac: "90:e2:ba:00:00:01", group: "20")
        try file("\(deviceDir(sriovPF))/sriov_totalvfs", "63")
        try file("\(deviceDir(sriovPF))/sriov_numvfs", "0")
        try file("\(deviceDir(sriovPF))/sriov_drivers_autoprobe", "1")
        try addDevice(
            plainPF, device: "0x1533", driver: "igb", netdev: plainNetdev, mac: "90:e2:ba:00:00:02", group: "21")
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// A Sysfs on this tree whose writes are recorded and answered as the kernel would.
    func sysfs() -> Sysfs {
        Sysfs(root: root) { [self] path, value in
            lock.withLock { _writes.append((path, value)) }
            react(path, value)
        }
    }

    func deviceDir(_ bdf: String) -> String { "devices/pci0000:00/\(bdf)" }

    /// VF n of the 82599 sits at devfn 0x80 + 2n, as the real one does.
    func vfAddress(_ n: Int) -> String {
        let devfn = 0x80 + 2 * n
        return String(format: "0000:03:%02x.%d", devfn >> 3, devfn & 7)
    }
    func vfNetdev(_ n: Int) -> String { "enp3s0f0v\(n)" }

    // MARK: the kernel's part

    /// What the kernel does after a write: create or remove VFs, bind and unbind.
    func react(_ path: String, _ value: String) {
        let parts = path.split(separator: "/").map(String.init)
        if path.hasSuffix("/sriov_numvfs"), let n = Int(value) {
            setVFs(n)
        } else if parts.count == 6, parts[4] == "driver", parts[5] == "unbind" {
            unbind(parts[3])
        } else if parts.count == 5, parts[2] == "drivers", parts[4] == "bind" {
            bind(value, to: parts[3])
        } else if path == "/bus/pci/drivers_probe" {
            let override =
                (try? String(contentsOfFile: "\(root)/bus/pci/devices/\(value)/driver_override", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            bind(value, to: override.isEmpty || override == "(null)" ? "ixgbevf" : override)
        }
    }

    func setVFs(_ n: Int) {
        let pf = deviceDir(sriovPF)
        try? file("\(pf)/sriov_numvfs", String(n))
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(pf)")) ?? []
        where name.hasPrefix("virtfn") {
            let index = Int(name.dropFirst(6))!
            try? FileManager.default.removeItem(atPath: "\(root)/\(pf)/\(name)")
            try? FileManager.default.removeItem(atPath: "\(root)/\(deviceDir(vfAddress(index)))")
            try? FileManager.default.removeItem(atPath: "\(root)/bus/pci/devices/\(vfAddress(index))")
            try? FileManager.default.removeItem(atPath: "\(root)/class/net/\(vfNetdev(index))")
        }
        for index in 0..<n {
            let bdf = vfAddress(index)
            try? addDevice(
                bdf, device: "0x10ed", driver: "ixgbevf", netdev: vfNetdev(index),
                mac: String(format: "02:00:00:00:01:%02x", index), group: String(30 + index))
            try? link("\(pf)/virtfn\(index)", "../\(bdf)")
            try? link("\(deviceDir(bdf))/physfn", "../\(sriovPF)")
        }
    }

    func unbind(_ bdf: String) {
        let dir = deviceDir(bdf)
        try? FileManager.default.removeItem(atPath: "\(root)/\(dir)/driver")
        for netdev in (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(dir)/net")) ?? [] {
            try? FileManager.default.removeItem(atPath: "\(root)/class/net/\(netdev)")
        }
        try? FileManager.default.removeItem(atPath: "\(root)/\(dir)/net")
    }

    func bind(_ bdf: String, to driver: String) {
        let dir = deviceDir(bdf)
        try? link("\(dir)/driver", "../../../bus/pci/drivers/\(driver)")
        if driver == "ixgbevf", let n = (0..<63).first(where: { vfAddress($0) == bdf }) {
            try? addNetdev(bdf, vfNetdev(n), mac: String(format: "02:00:00:00:01:%02x", n))
        }
    }

    // MARK: building the tree

    func addDevice(_ bdf: String, device: String, driver: String, netdev: String, mac: String, group: String) throws {
        let dir = deviceDir(bdf)
        try mkdir(dir)
        try file("\(dir)/vendor", "0x8086")
        try file("\(dir)/device", device)
        try file("\(dir)/class", "0x020000")
        try file("\(dir)/numa_node", "0")
        try file("\(dir)/driver_override", "(null)")
        try link("\(dir)/driver", "../../../bus/pci/drivers/\(driver)")
        try mkdir("kernel/iommu_groups/\(group)/devices")
        try link("\(dir)/iommu_group", "../../../kernel/iommu_groups/\(group)")
        try link("bus/pci/devices/\(bdf)", "../../../devices/pci0000:00/\(bdf)")
        try addNetdev(bdf, netdev, mac: mac)
    }

    func addNetdev(_ bdf: String, _ netdev: String, mac: String) throws {
        let dir = "\(deviceDir(bdf))/net/\(netdev)"
        try mkdir(dir)
        try file("\(dir)/address", mac)
        try file("\(dir)/operstate", "up")
        try link("\(dir)/device", "../../../\(bdf)")
        try link("class/net/\(netdev)", "../../\(dir)")
    }

    /// Makes a VF look moved into a container: its netdev vanishes from this namespace.
    func hideNetdev(ofVF n: Int) {
        let bdf = vfAddress(n)
        try? FileManager.default.removeItem(atPath: "\(root)/\(deviceDir(bdf))/net/\(vfNetdev(n))")
        try? FileManager.default.removeItem(atPath: "\(root)/class/net/\(vfNetdev(n))")
    }

    func read(_ relative: String) -> String? {
        (try? String(contentsOfFile: "\(root)/\(relative)", encoding: .utf8))?.trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    func mkdir(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: "\(root)/\(relative)", withIntermediateDirectories: true)
    }
    func file(_ relative: String, _ text: String) throws {
        try (text + "\n").write(toFile: "\(root)/\(relative)", atomically: false, encoding: .utf8)
    }
    func link(_ relative: String, _ target: String) throws {
        let path = "\(root)/\(relative)"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
    }
}

/// Plays the kernel for a vfplumb subprocess: watches sriov_numvfs and makes the VFs
/// appear, as the driver would, until stopped.
final class FakeKernelWatcher: @unchecked Sendable {
    private let tree: FakeSysfs
    private let lock = NSLock()
    private var running = true
    private let finished = DispatchSemaphore(value: 0)

    init(_ tree: FakeSysfs) {
        self.tree = tree
        let seen = tree.read("\(tree.deviceDir(tree.sriovPF))/sriov_numvfs")
        Thread.detachNewThread { [self] in watch(from: seen) }
    }

    private var isRunning: Bool { lock.withLock { running } }

    private func watch(from start: String?) {
        let file = "\(tree.deviceDir(tree.sriovPF))/sriov_numvfs"
        var seen = start
        while isRunning {
            let now = tree.read(file)
            if now != seen, let n = now.flatMap({ Int($0) }) {
                tree.setVFs(n)
                seen = now
            }
            usleep(5_000)
        }
        finished.signal()
    }

    func stop() {
        lock.withLock { running = false }
        finished.wait()
    }
}
