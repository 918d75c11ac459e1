// SPDX-License-Identifier: BSD-2-Clause
/* The veth driver's per-queue counters through SIOCETHTOOL; see vethstats.h. */
#include "vethstats.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

static int ethtool_ioctl(int fd, const char *ifname, void *cmd)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = cmd;
	return ioctl(fd, SIOCETHTOOL, &ifr);
}

/* "rx_queue_3_xdp_packets" has the suffix "_xdp_packets" after a queue number. */
static int queue_counter(const char *name, const char *dir, const char *what)
{
	size_t n = strlen(dir);

	if (strncmp(name, dir, n))
		return 0;
	name += n;
	if (*name < '0' || *name > '9')
		return 0;
	while (*name >= '0' && *name <= '9')
		name++;
	return *name == '_' && !strcmp(name + 1, what);
}

static int read_counters(int fd, const char *ifname, struct veth_counters *c)
{
	struct {
		struct ethtool_sset_info hdr;
		uint32_t len;
	} info = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ULL << ETH_SS_STATS } };

	if (ethtool_ioctl(fd, ifname, &info))
		return -1;
	uint32_t n = info.hdr.sset_mask ? info.len : 0;

	if (!n) {
		errno = EOPNOTSUPP;
		return -1;
	}
	struct ethtool_gstrings *names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	struct ethtool_stats *vals = calloc(1, sizeof(*vals) + (size_t)n * sizeof(uint64_t));
	int found = 0, err = -1;

	if (!names || !vals)
		goto out;
	*names = (struct ethtool_gstrings){ .cmd = ETHTOOL_GSTRINGS,
					    .string_set = ETH_SS_STATS,
					    .len = n };
	*vals = (struct ethtool_stats){ .cmd = ETHTOOL_GSTATS, .n_stats = n };
	if (ethtool_ioctl(fd, ifname, names) || ethtool_ioctl(fd, ifname, vals))
		goto out;
	memset(c, 0, sizeof(*c));
	for (uint32_t i = 0; i < n && i < names->len && i < vals->n_stats; i++) {
		char name[ETH_GSTRING_LEN + 1];
		uint64_t v = vals->data[i];

		memcpy(name, names->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = '\0';
		if (queue_counter(name, "tx_queue_", "xdp_xmit"))
			c->xdp_xmit += v, found++;
		else if (queue_counter(name, "tx_queue_", "xdp_xmit_errors"))
			c->xdp_xmit_err += v, found++;
		else if (queue_counter(name, "rx_queue_", "xdp_packets"))
			c->xdp_packets += v, found++;
		else if (queue_counter(name, "rx_queue_", "drops"))
			c->rx_drops += v, found++;
	}
	err = 0;
	if (!found) {
		errno = EOPNOTSUPP;
		err = -1;
	}
out:
	free(names);
	free(vals);
	return err;
}

int veth_counters_read(const char *ifname, struct veth_counters *c)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err, saved;

	if (fd < 0)
		return -1;
	err = read_counters(fd, ifname, c);
	saved = errno;
	close(fd);
	errno = saved;
	return err;
}

void veth_counters_delta(const struct veth_counters *before, const struct veth_counters *after,
			 struct veth_counters *d)
{
	d->xdp_xmit = after->xdp_xmit - before->xdp_xmit;
	d->xdp_xmit_err = after->xdp_xmit_err - before->xdp_xmit_err;
	d->xdp_packets = after->xdp_packets - before->xdp_packets;
	d->rx_drops = after->rx_drops - before->rx_drops;
}
