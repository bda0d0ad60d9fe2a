# Sourced by the scripts: finds the Swift toolchain when it is not on PATH (a clean CI
# environment), puts Debian's python3 first (the tests' Python peers come from apt), and
# makes sure the sbin directories (dnsmasq) are searched.
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="$PATH:/opt/swift/usr/bin"
fi
export PATH="/usr/bin:$PATH:/usr/sbin:/sbin"
