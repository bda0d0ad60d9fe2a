-- The Date line the HTTP server writes (natively, Sources/Ratchet/HTTP/HTTPDate.swift) is the
-- IMF-fixdate os.date gives, in English whatever the locale, for any time: epoch, leap days,
-- century rules, far future, before 1970; and without an argument it is the current second.
local ratchet = require "ratchet"
local common = require "ratchet.http.common"
local date_line = ratchet.httpwire.date_line

local function expected(t) return "Date: " .. os.date("!%a, %d %b %Y %H:%M:%S GMT", t) .. "\r\n" end

for _, t in ipairs{0, 1, 59, 86399, 86400, 951782400, 951868800, 1709164800, 1735689599,
                   1735689600, 4102444800, 253402300799, -1, -86400, -86401} do
    assert(date_line(t) == expected(t), "date_line(" .. t .. ") = " .. date_line(t))
end
math.randomseed(14)
for _ = 1, 20000 do
    local t = math.random(0, 8000000000)
    assert(date_line(t) == expected(t), "date_line(" .. t .. ")")
end
local before = os.time()
local now = date_line()
assert(now == expected(before) or now == expected(os.time()), "now: " .. now)
assert(common.date_line == date_line)
assert(common.http_date() == now:sub(7, -3) or common.http_date() == date_line():sub(7, -3), "http_date")
assert(not pcall(date_line, "x"), "a non-number is an argument error")
print("ok")
