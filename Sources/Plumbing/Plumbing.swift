// Placeholder until the vfplumb work lands: SR-IOV discovery, netlink, namespaces, vfio, journal.
public enum Plumbing {}
