"""Regions on separate networks, all on this machine: one network namespace each.

Each region's worker runs in a namespace of its own, joined to the root namespace
by a veth pair, so cutting its route to the target is a real partition: its
packets to the target are dropped by its own routing table, while the other
regions, PostgreSQL and Redis carry on::

    root namespace                          namespace heliograph-<pid>-<tag>-<region>
      hg<tag>t    10.A.B.254/32  the probe target
                  10.A.B.253/32  a relay to PostgreSQL and Redis (relay.py)
      hg<tag><i>h 10.A.B.(4i+1)/30  <-- veth -->  hg<tag><i>n 10.A.B.(4i+2)/30
                                             default via 10.A.B.(4i+1)

The root namespace answers for 10.A.B.254 and .253 on whichever link a packet
comes in (they are its own addresses), so no forwarding is switched on. The
addresses sit on a veth pair of their own, not on a dummy link: the regions need
veth anyway, and some kernels (this project's CI machine's among them) have no
dummy links.

Names carry the creating process's id and a random tag, so runs side by side never
clash, and a run killed outright leaves nothing a later run does not sweep away
(``sweep_stale``).
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "heliograph"
STALE_NAMESPACE = re.compile(rf"^{PREFIX}-(\d+)-")
STALE_ALIAS = re.compile(rf"^{PREFIX}-netns (\d+)$")


def ip(*args: str, namespace: str | None = None, check: bool = True) -> str:
    command = ["ip", *args]
    if namespace:
        command = ["ip", "netns", "exec", namespace, *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return result.stdout


def namespaces_problem() -> str | None:
    """Why this machine cannot build the regions' networks, or None if it can."""
    if os.geteuid() != 0:
        return "network namespaces need root (run the suite as root, as CI does)"
    if shutil.which("ip") is None:
        return "network namespaces need iproute2's ip (apt-get install iproute2)"
    trial = f"{PREFIX}-{os.getpid()}-trial"
    result = subprocess.run(
        ["ip", "netns", "add", trial], capture_output=True, text=True, timeout=30
    )
    if result.returncode != 0:
        return f"this machine cannot create network namespaces: {result.stderr}"
    ip("netns", "del", trial)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_inside(namespace: str) -> None:
    for pid in ip("netns", "pids", namespace, check=False).split():
        try:
            os.kill(int(pid), 9)
        except ProcessLookupError:
            pass


def sweep_stale() -> None:
    """Remove the namespaces and links of runs whose process is gone."""
    for line in ip("netns", "list").splitlines():
        name = line.split()[0] if line.strip() else ""
        match = STALE_NAMESPACE.match(name)
        if match and not _alive(int(match.group(1))):
            _kill_inside(name)
            ip("netns", "del", name, check=False)
    for link in json.loads(ip("-j", "link", "show") or "[]"):
        match = STALE_ALIAS.match(link.get("ifalias", ""))
        if match and not _alive(int(match.group(1))):
            ip("link", "del", link["ifname"], check=False)


def _free_subnet() -> ipaddress.IPv4Network:
    """A 10.A.B.0/24 that no address or route of this machine touches."""
    taken = []
    for route in json.loads(ip("-j", "-4", "route", "show", "table", "all") or "[]"):
        if route.get("dst") not in (None, "default"):
            taken.append(ipaddress.ip_network(route["dst"], strict=False))
    for _ in range(100):
        subnet = ipaddress.IPv4Network(
            f"10.{random.randint(64, 254)}.{random.randint(0, 255)}.0/24"
        )
        if not any(subnet.overlaps(other) for other in taken):
            return subnet
    raise RuntimeError("no free 10.x.y.0/24 for the regions' networks")


@dataclass
class Region:
    name: str
    namespace: str
    address: str  # the worker's own address, inside its namespace
    gateway: str  # the root namespace's end of its veth pair
    host_link: str
    worker: subprocess.Popen[bytes] | None = None
    log: Path | None = None


@dataclass
class Lab:
    """The regions' networks, their workers, and the cuts made between them."""

    tag: str
    folder: Path
    target_address: str
    services_address: str
    services_link: str
    regions: dict[str, Region] = field(default_factory=dict)
    relay: subprocess.Popen[bytes] | None = None
    relayed_ports: dict[tuple[str, int], int] = field(default_factory=dict)

    @classmethod
    def create(
        cls, names: Sequence[str], *, folder: Path, upstreams: Sequence[tuple[str, int]]
    ) -> Lab:
        """Build the namespaces and the relay; on any failure, undo what was built."""
        sweep_stale()
        subnet, tag = _free_subnet(), secrets.token_hex(3)
        hosts = list(subnet)  # hosts[n] is 10.A.B.n
        lab = cls(
            tag=tag,
            folder=folder,
            target_address=str(hosts[254]),
            services_address=str(hosts[253]),
            services_link=f"hg{tag}t",
        )
        try:
            lab._build_services_link()
            for number, name in enumerate(names):
                lab._build_region(number, name, hosts)
            lab._start_relay(upstreams)
        except BaseException:
            lab.destroy()
            raise
        return lab

    def _build_services_link(self) -> None:
        link = self.services_link
        ip("link", "add", link, "type", "veth", "peer", "name", f"hg{self.tag}u")
        ip("link", "set", link, "alias", f"{PREFIX}-netns {os.getpid()}")
        for address in (self.target_address, self.services_address):
            ip("addr", "add", f"{address}/32", "dev", link)
        ip("link", "set", link, "up")
        ip("link", "set", f"hg{self.tag}u", "up")

    def _build_region(
        self, number: int, name: str, hosts: list[ipaddress.IPv4Address]
    ) -> None:
        namespace = f"{PREFIX}-{os.getpid()}-{self.tag}-{name}"
        host_link, inner_link = f"hg{self.tag}{number}h", f"hg{self.tag}{number}n"
        gateway, address = str(hosts[4 * number + 1]), str(hosts[4 * number + 2])
        ip("netns", "add", namespace)
        self.regions[name] = Region(name, namespace, address, gateway, host_link)
        ip("link", "add", host_link, "type", "veth", "peer", "name", inner_link)
        ip("link", "set", host_link, "alias", f"{PREFIX}-netns {os.getpid()}")
        ip("link", "set", inner_link, "netns", namespace)
        ip("addr", "add", f"{gateway}/30", "dev", host_link)
        ip("link", "set", host_link, "up")
        ip("addr", "add", f"{address}/30", "dev", inner_link, namespace=namespace)
        ip("link", "set", inner_link, "up", namespace=namespace)
        ip("link", "set", "lo", "up", namespace=namespace)
        ip("route", "add", "default", "via", gateway, namespace=namespace)

    def _start_relay(self, upstreams: Sequence[tuple[str, int]]) -> None:
        targets = [f"{host}:{port}" for host, port in upstreams]
        self.relay = subprocess.Popen(
            [sys.executable, "-m", "tests.probes.relay", self.services_address]
            + targets,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.relay.stdout is not None
        ports = self.relay.stdout.readline().split()
        if len(ports) != len(targets):
            raise RuntimeError("the relay to PostgreSQL and Redis did not start")
        self.relayed_ports = {
            upstream: int(port) for upstream, port in zip(upstreams, ports, strict=True)
        }

    @property
    def names(self) -> list[str]:
        return list(self.regions)

    def relayed(self, url: str) -> str:
        """The URL as seen from inside a namespace: through the relay."""
        parts = urlsplit(url)
        port = self.relayed_ports[(parts.hostname or "", parts.port or 0)]
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@" if credentials else ""
        netloc += f"{self.services_address}:{port}"
        return urlunsplit(parts._replace(netloc=netloc))

    # --- partitions ---------------------------------------------------------

    def cut(self, name: str) -> None:
        """Drop this region's packets to the target, and only those."""
        route = ("route", "add", "blackhole", f"{self.target_address}/32")
        ip(*route, namespace=self.regions[name].namespace)

    def mend(self, name: str) -> None:
        route = ("route", "del", "blackhole", f"{self.target_address}/32")
        ip(*route, namespace=self.regions[name].namespace, check=False)

    def reaches(self, name: str, host: str, port: int) -> bool:
        """Whether a TCP connection from inside the region's namespace gets through."""
        connect = f"import socket; socket.create_connection(({host!r}, {port}), 2)"
        result = subprocess.run(
            ["ip", "netns", "exec", self.regions[name].namespace]
            + [sys.executable, "-c", connect],
            capture_output=True,
            timeout=30,
        )
        return result.returncode == 0

    # --- workers ------------------------------------------------------------

    def start_worker(self, name: str, **env: str) -> subprocess.Popen[bytes]:
        """A real Celery worker on ``probes.<name>``, inside the region's namespace.

        ``env`` must point it at the database and brokers through ``relayed``.
        """
        region = self.regions[name]
        region.log = self.folder / f"worker-{name}.log"
        command = [
            *("ip", "netns", "exec", region.namespace),
            *(sys.executable, "-m", "celery", "-A", "statuspage", "worker"),
            *("-Q", f"probes.{name}", "--pool", "solo", "--concurrency", "1"),
            *("-n", f"{name}@%h", "--loglevel", "INFO"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ]
        with region.log.open("ab") as log:
            region.worker = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, "PROBE_REGIONS": name, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return region.worker

    def stop_worker(self, name: str) -> None:
        """Stop the region's worker (a warm shutdown, then a kill if it lingers)."""
        self.stop_workers([name])

    def stop_workers(self, names: Sequence[str] | None = None) -> None:
        """Stop these regions' workers (all by default), all at once."""
        chosen = [self.regions[n] for n in (self.names if names is None else names)]
        workers = [r.worker for r in chosen if r.worker and r.worker.poll() is None]
        for region in chosen:
            region.worker = None
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    def logs(self) -> str:
        """The tail of each worker's log, for a failing test to show."""
        parts = []
        for region in self.regions.values():
            if region.log and region.log.exists():
                text = region.log.read_text(errors="replace")[-3000:]
                parts.append(f"--- worker {region.name} ---\n{text}")
        return "\n".join(parts)

    # --- teardown -----------------------------------------------------------

    def _region_destroy(self, region: Region) -> list[str]:
        errors = []
        steps = (
            (self.stop_worker, region.name),
            (_kill_inside, region.namespace),
            (lambda link: ip("link", "del", link, check=False), region.host_link),
            (lambda name: ip("netns", "del", name, check=False), region.namespace),
        )
        for step, argument in steps:
            try:
                step(argument)
            except Exception as error:
                errors.append(f"{region.namespace}: {error}")
        return errors

    def destroy(self) -> None:
        """Stop everything and remove every namespace and link; safe to call twice.

        Each step runs even if one before it failed: a test that broke halfway must
        still leave the machine as it found it.
        """
        errors: list[str] = []
        try:
            self.stop_workers()
        except Exception as error:
            errors.append(f"workers: {error}")
        for region in self.regions.values():
            errors += self._region_destroy(region)
        ip("link", "del", self.services_link, check=False)
        if self.relay is not None:
            assert self.relay.stdin is not None
            self.relay.stdin.close()  # the relay's signal to go
            try:
                self.relay.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.relay.kill()
                self.relay.wait()
            self.relay = None
        if errors:
            raise RuntimeError(
                "tearing down the regions' networks: " + "; ".join(errors)
            )
