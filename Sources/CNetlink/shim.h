#ifndef CNETLINK_SHIM_H
#define CNETLINK_SHIM_H
#include <netlink/netlink.h>
#include <netlink/errno.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/sriov.h>
#include <linux/if_link.h>
#include <linux/if_ether.h>
#include <net/if.h>
#endif
