-- The set of ESMTP extensions one side of a session knows about: what a server
-- advertises in its EHLO reply, or what a client parsed out of one.
-- Internal helper: returns a class table and sets no globals.

local smtp_extensions = {}
smtp_extensions.__index = smtp_extensions

function smtp_extensions.new()
    local self = setmetatable({}, smtp_extensions)
    self:reset()
    return self
end

function smtp_extensions:reset()
    self.extensions = {}
    -- Kept in insertion order so EHLO replies are the same from one run to the next.
    self.order = {}
end

--- Returns the extension's parameter (a string, a table with __tostring, or true
-- for one added without a parameter), or nil when the extension is absent.
function smtp_extensions:has(ext)
    return self.extensions[tostring(ext):upper()]
end

function smtp_extensions:add(ext, param)
    local name = tostring(ext):upper()
    if self.extensions[name] == nil then
        self.order[#self.order + 1] = name
    end
    if param == nil then param = true end
    self.extensions[name] = param
end

function smtp_extensions:drop(ext)
    local name = tostring(ext):upper()
    if self.extensions[name] == nil then return end
    self.extensions[name] = nil
    for i, n in ipairs(self.order) do
        if n == name then
            table.remove(self.order, i)
            break
        end
    end
end

--- Iterates name, parameter in advertising order.
function smtp_extensions:each()
    local i = 0
    return function()
        i = i + 1
        local name = self.order[i]
        if name then return name, self.extensions[name] end
    end
end

--- A copy, used to put back what HELO took away once the client says EHLO again.
function smtp_extensions:copy()
    local other = smtp_extensions.new()
    for name, param in self:each() do other:add(name, param) end
    return other
end

--- Client side: reads the extension lines of an EHLO reply message (lines joined by
-- CRLF). Returns the first line, the greeting. Parameterless extensions get "".
function smtp_extensions:parse_string(str)
    local header
    for line in (str .. "\r\n"):gmatch("(.-)\r?\n") do
        if not header then
            header = line
        else
            local name, param = line:match("^%s*(%w[%w%-]*)%s*(.-)%s*$")
            if name then self:add(name, param) end
        end
    end
    return header or str
end

--- Server side: the EHLO reply message, the greeting followed by one line per extension.
function smtp_extensions:build_string(header)
    local lines = { header }
    for name, param in self:each() do
        if param == true then
            lines[#lines + 1] = name
        else
            local text = tostring(param)
            lines[#lines + 1] = text == "" and name or (name .. " " .. text)
        end
    end
    return table.concat(lines, "\r\n")
end

return smtp_extensions
