---@meta ratchet.dns
-- LuaCATS definitions (docs: docs/dns.md).

-- runtime: ratchet.dns
---Asynchronous DNS.
---@class ratchet.dns
---@field resolv_conf ratchet.dns.resolv_conf_module
---@field hosts ratchet.dns.hosts_module
local dns = {}

---@alias ratchet.dns.type "a"|"aaaa"|"mx"|"ns"|"cname"|"soa"|"srv"|"ptr"|"txt"|"spf"|"sshfp"|string

---Options of `ratchet.dns.new{...}`.
---@class ratchet.dns.options
---@field nameservers? string[] `"1.2.3.4"`, `"1.2.3.4:5353"`, `"[::1]:53"`, ...
---@field timeout? number Seconds to wait for each try.
---@field attempts? integer Rounds over the nameserver list.
---@field search? string[]
---@field ndots? integer
---@field resolv_conf? ratchet.dns.ResolvConf
---@field hosts? ratchet.dns.Hosts
---@field expire? number Default overall timeout of its queries.

---Looks `name` up; the results table's shape depends on the type (see docs/dns.md).
---@async
---@param name string
---@param type ratchet.dns.type
---@param resolv_conf? ratchet.dns.ResolvConf|ratchet.dns.Resolver
---@param hosts? ratchet.dns.Hosts
---@param timeout? number
---@return table? results
---@return string? message Why there are no results.
function dns.query(name, type, resolv_conf, hosts, timeout) end

---Asks every type in parallel; `answers[type]` or `answers[type .. "_error"]`.
---@async
---@param name string
---@param types ratchet.dns.type[]
---@param resolv_conf? ratchet.dns.ResolvConf|ratchet.dns.Resolver
---@param hosts? ratchet.dns.Hosts
---@param timeout? number
---@return table<string, any> answers
function dns.query_all(name, types, resolv_conf, hosts, timeout) end

---A resolver: `new{options}` or `new(resolv_conf, hosts, timeout)`.
---@param options_or_resolv_conf? ratchet.dns.options|ratchet.dns.ResolvConf
---@param hosts? ratchet.dns.Hosts
---@param timeout? number
---@return ratchet.dns.Resolver
function dns.new(options_or_resolv_conf, hosts, timeout) end

---Makes `resolver` the one `query` and `socket.prepare_*` use.
---@param resolver ratchet.dns.Resolver
function dns.set_default(resolver) end

---The default resolver.
---@return ratchet.dns.Resolver
function dns.get_default() end

---@class ratchet.dns.resolv_conf_module
local resolv_conf_module = {}

---Reads resolv.conf files (default `/etc/resolv.conf`).
---@param paths? string[]
---@return ratchet.dns.ResolvConf
function resolv_conf_module.new(paths) end

---@class ratchet.dns.hosts_module
local hosts_module = {}

---Reads hosts files (default `/etc/hosts`).
---@param paths? string[]
---@return ratchet.dns.Hosts
function hosts_module.new(paths) end

-- metatable: ratchet_dns_resolv_conf_meta
---@class ratchet.dns.ResolvConf

-- metatable: ratchet_dns_hosts_meta
---@class ratchet.dns.Hosts

-- metatable: ratchet_dns_a_meta
---An IPv4 address result; `tostring` gives `"192.0.2.1"`, `==` compares.
---@class ratchet.dns.A

-- metatable: ratchet_dns_aaaa_meta
---An IPv6 address result; `tostring` gives `"2001:db8::1"`, `==` compares.
---@class ratchet.dns.AAAA

-- metatable: ratchet_dns_query_meta
---@class ratchet.dns.Query

-- metatable: ratchet_dns_mx_meta
---MX results: `t[preference]` arrays, `t.priorities`, `t.n`.
---@class ratchet.dns.MX
---@field priorities integer[]
---@field n integer
local MX = {}

---The i-th host in preference order.
---@param i integer
---@return string?
function MX:get_i(i) end

-- metatable: ratchet_dns_resolver_meta
---@class ratchet.dns.Resolver
local Resolver = {}

---As `ratchet.dns.query` with this resolver.
---@async
---@param name string
---@param type ratchet.dns.type
---@param timeout? number
---@return table? results
---@return string? message
function Resolver:query(name, type, timeout) end

---As `ratchet.dns.query_all` with this resolver.
---@async
---@param name string
---@param types ratchet.dns.type[]
---@param timeout? number
---@return table<string, any> answers
function Resolver:query_all(name, types, timeout) end

---@return string[]
function Resolver:get_nameservers() end
