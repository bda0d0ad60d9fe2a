-- The per-connection loop of the echo benchmarks, shared so that bench/echo_server.lua
-- (ratchet) and bench/floor/echo_floor.lua (the Lua floor) run exactly the same Lua. It
-- needs only recv/send/close on the client. recv returns "" once the peer has closed (a
-- connection the load generator resets ends the same way, or with an error that just ends
-- its thread); send returns the unsent rest after a partial write.
return function(client)
    local data = client:recv(65536)
    while data ~= "" do
        local rest = client:send(data)
        while rest do rest = client:send(rest) end
        data = client:recv(65536)
    end
    client:close()
end
