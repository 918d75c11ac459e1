// SPDX-License-Identifier: BSD-2-Clause
/* Interface lookup and link state with libnl-route. See netlink.h. */
#include "netlink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netlink/netlink.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>

static void fill(struct rtnl_link *l, struct bb_link *out)
{
	unsigned int flags = rtnl_link_get_flags(l);
	const char *name = rtnl_link_get_name(l);

	memset(out, 0, sizeof(*out));
	out->ifindex = rtnl_link_get_ifindex(l);
	snprintf(out->name, sizeof(out->name), "%s", name ? name : "");
	out->up = flags & IFF_UP;
	out->running = flags & IFF_RUNNING;
	rtnl_link_operstate2str(rtnl_link_get_operstate(l), out->operstate, sizeof(out->operstate));
	out->mtu = rtnl_link_get_mtu(l);
	out->rx_queues = rtnl_link_get_num_rx_queues(l);
	if (!out->rx_queues)
		out->rx_queues = 1;
}

static struct nl_sock *open_sock(void)
{
	struct nl_sock *sk = nl_socket_alloc();

	if (sk && nl_connect(sk, NETLINK_ROUTE)) {
		nl_socket_free(sk);
		sk = NULL;
	}
	return sk;
}

static int get(int ifindex, const char *name, struct bb_link *out)
{
	struct nl_sock *sk = open_sock();
	struct rtnl_link *l = NULL;
	int err;

	if (!sk)
		return -ENOTCONN;
	err = rtnl_link_get_kernel(sk, ifindex, name, &l);
	if (!err)
		fill(l, out);
	else
		err = err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV ? -ENODEV : -EIO;
	if (l)
		rtnl_link_put(l);
	nl_socket_free(sk);
	return err;
}

int bb_link_get(const char *name, struct bb_link *link)
{
	if (!name || !*name || strlen(name) >= IF_NAMESIZE)
		return -ENODEV;
	return get(0, name, link);
}

int bb_link_get_index(int ifindex, struct bb_link *link)
{
	return get(ifindex, NULL, link);
}

int bb_link_foreach(int (*fn)(const struct bb_link *link, void *ctx), void *ctx)
{
	struct nl_sock *sk = open_sock();
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	int ret = 0;

	if (!sk)
		return -ENOTCONN;
	if (rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache)) {
		nl_socket_free(sk);
		return -EIO;
	}
	for (o = nl_cache_get_first(cache); o && !ret; o = nl_cache_get_next(o)) {
		struct bb_link link;

		fill((struct rtnl_link *)o, &link);
		ret = fn(&link, ctx);
	}
	nl_cache_free(cache);
	nl_socket_free(sk);
	return ret;
}
