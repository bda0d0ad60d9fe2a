-- Waits for SIGUSR1 in one ratchet thread while another sends it to this process.
-- Run from this folder after `make`: lua5.4 example.lua  (or ratchet-lua example.lua)
local ratchet = require "ratchet"
package.cpath = "./?.so;" .. package.cpath
local signalfd = require "signalfd"

local pid = tonumber(io.open("/proc/self/stat"):read("l"):match("^(%d+)"))
ratchet.new(function()
    local sfd <close> = signalfd.new("SIGUSR1")
    ratchet.thread.attach(function()
        ratchet.thread.timer(0.1)
        local p = ratchet.exec.new({"kill", "-USR1", tostring(pid)}); p:start(); p:wait()
    end)
    local signo, name = sfd:read(5)
    print("received", signo, name)
    print("then, with nothing sent:", sfd:read(0.1))
end):loop()
