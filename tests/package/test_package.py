"""The Debian package (issue #13): cpack builds it from the build folder into a scratch
folder; the test reads its control data, unpacks it into a temporary root (dpkg-deb -x; no
maintainer script runs, nothing touches the machine) and checks what an installation gets:
files and owners, conffiles, Depends, the installed binary and configuration, the manual
page, the systemd unit, and the postinst's user creation (run against fake adduser/getent).

    python3 test_package.py --build-dir BUILD --cpack CPACK --source-dir SRC

Prints PASS/FAIL per case and `N passed, M failed`; exits non-zero on any failure. Every
command has a timeout; the scratch folder is kept when a case fails.
"""

import argparse
import gzip
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import traceback

ARGS = None
PKG = {}  # deb, root (unpacked), control (dpkg-deb -e), fields, listing
_cases = []


def case(fn):
    _cases.append(fn)
    return fn


def sh(cmd, timeout=60, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def build_package(scratch):
    """cpack -G DEB into scratch/out; unpacks data and control beside it."""
    out = os.path.join(scratch, "out")
    os.makedirs(out)
    t0 = time.time()
    sh([ARGS.cpack, "-G", "DEB", "--config", os.path.join(ARGS.build_dir, "CPackConfig.cmake"),
        "-B", out], timeout=240, cwd=out)
    print(f"cpack: {time.time() - t0:.1f}s", flush=True)
    version = re.search(r'CPACK_PACKAGE_VERSION "([^"]+)"',
                        open(os.path.join(ARGS.build_dir, "CPackConfig.cmake")).read()).group(1)
    arch = sh(["dpkg", "--print-architecture"]).stdout.strip()
    deb = os.path.join(out, f"swmld_{version}_{arch}.deb")
    assert os.path.isfile(deb), f"no {deb} among {os.listdir(out)}"
    root = os.path.join(scratch, "root")
    control = os.path.join(scratch, "control")
    sh(["dpkg-deb", "-x", deb, root])
    sh(["dpkg-deb", "-e", deb, control])
    fields = {}
    for line in sh(["dpkg-deb", "-f", deb]).stdout.splitlines():
        if line and not line[0].isspace() and ":" in line:
            k, v = line.split(":", 1)
            fields[k] = v.strip()
    listing = {}  # path -> (mode, owner)
    for line in sh(["dpkg-deb", "-c", deb]).stdout.splitlines():
        parts = line.split(None, 5)
        path = parts[5].split(" -> ")[0]
        listing[path[1:].rstrip("/") or "/"] = (parts[0], parts[1])
    PKG.update(scratch=scratch, deb=deb, root=root, control=control, fields=fields, listing=listing,
               version=version, arch=arch)


@case
def package_is_named_after_version_and_architecture():
    f = PKG["fields"]
    assert f["Package"] == "swmld", f
    assert f["Version"] == PKG["version"], f
    assert f["Architecture"] == PKG["arch"], f
    assert f["Section"] == "net" and f["Priority"] == "optional", f
    assert f["Maintainer"], f


@case
def files_are_where_they_should_be_and_owned_by_root():
    listing = PKG["listing"]
    expected = {
        "/usr/bin/swmld": "-rwxr-xr-x",
        "/etc/swmld/swmld.yaml": "-rw-r--r--",
        "/lib/systemd/system/swmld.service": "-rw-r--r--",
        "/usr/share/man/man8/swmld.8.gz": "-rw-r--r--",
        "/usr/share/swmld/examples/hello.yaml": "-rw-r--r--",
        "/usr/share/swmld/examples/refer.yaml": "-rw-r--r--",
        "/usr/share/swmld/examples/menu.yaml": "-rw-r--r--",
        "/usr/share/swmld/examples/welcome.yaml": "-rw-r--r--",
        "/usr/share/swmld/examples/sounds/chime.wav": "-rw-r--r--",
        "/usr/share/doc/swmld/copyright": "-rw-r--r--",
        "/usr/share/doc/swmld/changelog.gz": "-rw-r--r--",
        "/usr/share/doc/swmld/THIRD-PARTY.md": "-rw-r--r--",
        "/usr/share/doc/swmld/README.md": "-rw-r--r--",
        "/usr/share/doc/swmld/operations.md": "-rw-r--r--",
    }
    for path, mode in expected.items():
        assert path in listing, f"{path} missing from the package:\n" + "\n".join(sorted(listing))
        assert listing[path][0] == mode, (path, listing[path])
    for path, (mode, owner) in listing.items():
        assert owner == "root/root", (path, owner)
    allowed = ("/usr/bin", "/usr/share/swmld", "/usr/share/man", "/usr/share/doc/swmld",
               "/etc/swmld", "/lib/systemd/system")
    files = [p for p, (m, _) in listing.items() if not m.startswith("d")]
    stray = [p for p in files if not p.startswith(allowed)]
    assert not stray, f"unexpected files: {stray}"
    # Nothing enabled by the package itself: no .wants links, no /etc/systemd.
    assert not [p for p in listing if "/etc/systemd" in p or ".wants" in p], listing
    assert [p for p in files if p.startswith("/usr/bin")] == ["/usr/bin/swmld"], files
    # The shipped binary is stripped (CPACK_STRIP_FILES); the build keeps its debug info.
    sections = sh(["readelf", "-S", os.path.join(PKG["root"], "usr/bin/swmld")]).stdout
    assert ".debug_info" not in sections, "the packaged binary is not stripped"
    with open(os.path.join(PKG["root"], "usr/share/doc/swmld/copyright")) as f:
        assert "MIT License" in f.read()


@case
def conffiles_list_only_the_configuration():
    with open(os.path.join(PKG["control"], "conffiles")) as f:
        assert f.read() == "/etc/swmld/swmld.yaml\n"
    for script in ("postinst", "prerm", "postrm"):
        mode = os.stat(os.path.join(PKG["control"], script)).st_mode
        assert stat.S_IMODE(mode) == 0o755, (script, oct(mode))
        sh(["sh", "-n", os.path.join(PKG["control"], script)])
    assert not os.path.exists(os.path.join(PKG["control"], "preinst"))


def needed_packages(binary):
    """Debian packages of the shared libraries the binary names (NEEDED)."""
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        sh(["readelf", "-d", binary]).stdout)
    paths = {}
    for line in sh(["ldd", binary]).stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            paths[m.group(1)] = m.group(2)
    assert needed and all(n in paths for n in needed), (needed, paths)
    return needed, paths


def packages_of(paths):
    """{library path: Debian package}, from one dpkg -S over the paths as ldd shows them and
    as they resolve (usrmerge: a package may list either)."""
    queries = {}
    for p in paths:
        queries.setdefault(p, p)
        queries.setdefault(os.path.realpath(p), p)
    r = sh(["dpkg", "-S", *queries], check=False)
    pkgs = {}
    for line in r.stdout.splitlines():
        m = re.match(r"([^:,]+)(?::[^:]+)?: (.+)$", line)
        if m and m.group(2) in queries:
            pkgs.setdefault(queries[m.group(2)], m.group(1).strip())
    unknown = [p for p in paths if p not in pkgs]
    assert not unknown, f"no Debian package owns {unknown}: {r.stderr}"
    return pkgs


@case
def depends_names_the_runtime_libraries():
    depends = PKG["fields"]["Depends"]
    names = {d.strip().split()[0] for alt in depends.split(",") for d in alt.split("|")}
    binary = os.path.join(PKG["root"], "usr/bin/swmld")
    needed, paths = needed_packages(binary)
    wanted = set(packages_of([paths[n] for n in needed]).values())
    for pkg in ("libsofia-sip-ua0", "libspandsp2", "libsndfile1", "libsoxr0", "libspeexdsp1", "libflite1",
                "libcurl4", "libssl3", "libyaml-cpp0.7", "libspdlog1.10", "libfmt9", "libc6"):
        assert pkg in wanted, f"{pkg} is not among the packages of the NEEDED libraries {wanted}"
    # A package may be named by a name it Provides (libspdlog1.10 as libspdlog1.10-fmt9).
    missing = set()
    for pkg in wanted - names:
        provides = sh(["dpkg-query", "-W", "-f=${Provides}", pkg]).stdout
        if not {p.strip().split()[0] for p in provides.split(",") if p.strip()} & names:
            missing.add(pkg)
    assert not missing, f"Depends ({depends}) lacks {missing}"
    assert "adduser" in names, depends
    assert not [n for n in names if n.endswith("-dev")], depends
    # Versioned, as dpkg-shlibdeps writes them.
    assert re.search(r"libsofia-sip-ua0 \(>= [^)]+\)", depends), depends


@case
def third_party_md_names_every_loaded_library():
    with open(os.path.join(ARGS.source_dir, "THIRD-PARTY.md")) as f:
        text = f.read()
    _, paths = needed_packages(os.path.join(PKG["root"], "usr/bin/swmld"))
    pkgs = packages_of(list(paths.values()))
    missing = sorted({f"{pkg} ({os.path.basename(lib)})" for lib, pkg in pkgs.items()
                      if f"`{pkg}`" not in text})
    assert not missing, f"THIRD-PARTY.md does not name: {missing}"


@case
def installed_binary_runs_version_and_check():
    root = PKG["root"]
    binary = os.path.join(root, "usr/bin/swmld")
    r = sh([binary, "--version"])
    assert r.stdout.strip() == f"swmld {PKG['version']}", r.stdout
    examples = sorted(os.path.join(root, "usr/share/swmld/examples", f)
                      for f in os.listdir(os.path.join(root, "usr/share/swmld/examples"))
                      if f.endswith(".yaml"))
    assert len(examples) >= 4, examples
    r = sh([binary, "check", "-v"] + examples)
    assert r.stdout.splitlines() == [f"{e}: ok" for e in examples], r.stdout + r.stderr
    r = sh([binary, "simulate", os.path.join(root, "usr/share/swmld/examples/refer.yaml"),
            "--param", "target=sip:alice@127.0.0.1:5090", "--refer-outcome", "202:200"])
    assert '"sip_refer_result":"success"' in r.stdout, r.stdout


@case
def installed_configuration_names_installed_examples_and_serves():
    root = PKG["root"]
    with open(os.path.join(root, "etc/swmld/swmld.yaml")) as f:
        cfg = f.read()
    swml = re.findall(r"^\s*swml: (\S+)", cfg, re.M)
    assert swml and all(p.startswith("/usr/share/swmld/examples/") for p in swml), swml
    assert "root: /usr/share/swmld/examples/sounds" in cfg
    assert not re.search(r"(swml|root): examples/", cfg)
    # Served from the unpacked root: the same file with the root prepended to its paths.
    local = cfg.replace("/usr/share/swmld/", os.path.join(root, "usr/share/swmld/"))
    path = os.path.join(root, "..", "swmld-local.yaml")
    with open(path, "w") as f:
        f.write(local)
    port = free_udp_port()
    p = subprocess.Popen([os.path.join(root, "usr/bin/swmld"), "serve", "--config", path,
                          "--sip", f"udp:127.0.0.1:{port}"], cwd="/",
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 15
        seen = ""
        while time.time() < deadline and "swmld listening on" not in seen:
            line = p.stderr.readline()
            if not line:
                break
            seen += line
        routes = len(re.findall(r"^  - name: ", cfg, re.M))  # every route of the file loaded
        assert "swmld listening on" in seen and f"{routes} route(s)" in seen, (routes, seen)
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=15)
        assert rc == 0, (rc, seen + p.stderr.read())
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@case
def man_page_renders():
    with gzip.open(os.path.join(PKG["root"], "usr/share/man/man8/swmld.8.gz"), "rt") as f:
        page = f.read()
    with open(os.path.join(ARGS.source_dir, "docs/man/swmld.8")) as f:
        assert page == f.read()
    if not shutil.which("groff") or not shutil.which("man"):
        print("  skipped rendering: groff or man missing (man-db)")
        return
    r = sh(["groff", "-man", "-ww", "-z", os.path.join(ARGS.source_dir, "docs/man/swmld.8")])
    assert r.stderr == "", r.stderr
    r = sh(["man", "--nh", "--nj", "-l",
            os.path.join(PKG["root"], "usr/share/man/man8/swmld.8.gz")],
           env=dict(os.environ, MANWIDTH="80", PAGER="cat"))
    text = re.sub(r".\x08", "", r.stdout)
    assert r.stderr == "", r.stderr
    for heading in ("NAME", "SYNOPSIS", "COMMANDS", "OPTIONS", "ENVIRONMENT", "SIGNALS",
                    "FILES", "EXIT STATUS"):
        assert re.search(rf"^{heading}$", text, re.M), heading
    for word in ("swmld serve", "swmld check", "swmld simulate", "SWMLD_SIP_LISTEN",
                 "SIGTERM", "SIGHUP", "/etc/swmld/swmld.yaml", "systemctl enable --now swmld"):
        assert word in " ".join(text.split()), word


@case
def unit_file_runs_unprivileged_and_hardened():
    with open(os.path.join(PKG["root"], "lib/systemd/system/swmld.service")) as f:
        unit = f.read()
    keys = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            keys.setdefault(k, []).append(v)
    want = {
        "Type": "notify", "NotifyAccess": "main", "User": "swmld", "Group": "swmld",
        "ExecStart": "/usr/bin/swmld serve --config /etc/swmld/swmld.yaml",
        "ExecReload": "/bin/kill -HUP $MAINPID", "NoNewPrivileges": "yes",
        "ProtectSystem": "strict", "PrivateTmp": "yes",
        "AmbientCapabilities": "CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE", "WantedBy": "multi-user.target",
    }
    for k, v in want.items():
        assert keys.get(k) == [v], (k, keys.get(k))
    # Room for every RTP port of the default range (2,000 pairs) and more.
    assert int(keys["LimitNOFILE"][0]) >= 16384, keys["LimitNOFILE"]
    if not shutil.which("systemd-analyze"):
        print("  skipped systemd-analyze verify: systemd-analyze not installed")
        return
    # verify wants ExecStart's binary and the man page of Documentation= to exist: a copy of
    # the unit names the unpacked binary, MANPATH the unpacked manual. It exits 0 even for
    # unknown keys or bad values, which it reports on stderr.
    copy = os.path.join(PKG["root"], "..", "swmld.service")
    with open(copy, "w") as f:
        f.write(unit.replace("/usr/bin/swmld ", os.path.join(PKG["root"], "usr/bin/swmld ")))
    r = sh(["systemd-analyze", "verify", copy], check=False,
           env=dict(os.environ, MANPATH=os.path.join(PKG["root"], "usr/share/man")))
    assert r.returncode == 0 and r.stderr.strip() == "", (r.returncode, r.stdout, r.stderr)


def fake_tools(scratch):
    """A PATH folder with getent/adduser/addgroup/systemctl that log their arguments and keep
    users and groups in files of their own."""
    bin_dir = os.path.join(scratch, "fakebin")
    db = os.path.join(scratch, "fakedb")
    os.makedirs(bin_dir)
    os.makedirs(db)
    for name in ("passwd", "group"):
        open(os.path.join(db, name), "w").close()
    tools = {
        "getent": 'echo "getent $*" >> "$FAKE_LOG"; grep "^$2:" "$FAKE_DB/$1" || exit 2\n',
        "adduser": 'echo "adduser $*" >> "$FAKE_LOG"\n'
                   'for a; do last=$a; done; echo "$last:x:999:999::/nonexistent:/usr/sbin/nologin" >> "$FAKE_DB/passwd"\n',
        "addgroup": 'echo "addgroup $*" >> "$FAKE_LOG"\n'
                    'for a; do last=$a; done; echo "$last:x:999:" >> "$FAKE_DB/group"\n',
        "systemctl": 'echo "systemctl $*" >> "$FAKE_LOG"\n',
    }
    for name, body in tools.items():
        path = os.path.join(bin_dir, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o755)
    return bin_dir, db


@case
def postinst_creates_user_and_group_only_when_missing():
    scratch = tempfile.mkdtemp(prefix="postinst-", dir=PKG["scratch"])
    bin_dir, db = fake_tools(scratch)
    log = os.path.join(scratch, "log")
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_DB=db, FAKE_LOG=log)

    def run(*args):
        open(log, "w").close()
        sh([os.path.join(PKG["control"], "postinst"), *args], env=env)
        with open(log) as f:
            return [l for l in f.read().splitlines() if not l.startswith("getent")]

    calls = run("configure", "")
    creates = [c for c in calls if c.startswith(("adduser", "addgroup"))]
    assert creates == [
        "addgroup --system --quiet swmld",
        "adduser --system --quiet --ingroup swmld --home /nonexistent --no-create-home "
        "--gecos swmld SWML server swmld"], calls
    # Nothing is enabled or started, with or without systemd running.
    assert all(c == "systemctl --system daemon-reload" for c in calls if c.startswith("systemctl")), calls
    # Reconfigured or upgraded: both exist, nothing is created.
    calls = run("configure", PKG["version"])
    assert not [c for c in calls if c.startswith(("adduser", "addgroup"))], calls
    # A group left from before, no user: only the user is created.
    with open(os.path.join(db, "passwd"), "w"):
        pass
    calls = run("configure", "")
    assert [c for c in calls if c.startswith(("adduser", "addgroup"))] == [
        "adduser --system --quiet --ingroup swmld --home /nonexistent --no-create-home "
        "--gecos swmld SWML server swmld"], calls
    # Other actions touch nothing.
    assert run("abort-upgrade", "0.0.1") == []
    # prerm stops the service only when the package is removed, never on upgrade.
    open(log, "w").close()
    sh([os.path.join(PKG["control"], "prerm"), "upgrade", PKG["version"]], env=env)
    assert open(log).read() == ""


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--cpack", default="cpack")
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("-k", default="", help="run only cases whose name contains this")
    ARGS = ap.parse_args()
    ARGS.build_dir = os.path.abspath(ARGS.build_dir)
    ARGS.source_dir = os.path.abspath(ARGS.source_dir)
    for tool in ("dpkg-deb", "dpkg-shlibdeps", "readelf"):
        if not shutil.which(tool):
            print(f"FAIL: {tool} is missing (scripts/install-deps installs dpkg-dev, binutils)")
            sys.exit(1)
    scratch = tempfile.mkdtemp(prefix="swmld-package-")
    t0 = time.time()
    try:
        build_package(scratch)
    except Exception:
        traceback.print_exc()
        print(f"FAIL build_package; files kept in {scratch}")
        sys.exit(1)
    passed = failed = 0
    for fn in _cases:
        if ARGS.k and ARGS.k not in fn.__name__:
            continue
        t1 = time.time()
        try:
            fn()
            passed += 1
            print(f"PASS {fn.__name__} ({time.time() - t1:.1f}s)", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__} ({time.time() - t1:.1f}s)")
            traceback.print_exc()
            sys.stdout.flush()
    if failed:
        print(f"files kept in {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{passed} passed, {failed} failed ({time.time() - t0:.1f}s)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
