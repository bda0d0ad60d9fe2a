-- Checks library/*.lua, the LuaCATS definitions for lua-language-server, against the
-- modules as they load and against docs/, so the three cannot drift apart:
--   * every annotated function has a @param for each parameter (and no stray ones), only
--     known tags, and only types that are built in or declared somewhere in library/;
--   * a class marked `-- runtime: mod` has exactly the functions of that module table, and
--     one marked `-- metatable: name` exactly the methods of that registry metatable;
--     every ratchet metatable in the registry has a class;
--   * every documented module page (a docs page titled with a module name) has a
--     definitions file, each function its page documents is annotated there, and each
--     annotated function (not @private) is named on the page.
-- Usage (with LUA_PATH/LUA_CPATH finding ratchet, as scripts/test sets them):
--   lua5.4 scripts/check-luacats.lua [--root DIR] [--library DIR]
-- Prints each problem and exits 1, or prints "luacats: N files, N functions ok".
local root, libdir = ".", nil
local i = 1
while arg[i] do
    if arg[i] == "--root" then root = arg[i + 1]; i = i + 2
    elseif arg[i] == "--library" then libdir = arg[i + 1]; i = i + 2
    else io.stderr:write("check-luacats: unknown argument ", arg[i], "\n"); os.exit(2) end
end
libdir = libdir or (root .. "/library")

local problems = {}
local function problem(fmt, ...) problems[#problems + 1] = string.format(fmt, ...) end

local function lines_of(path)
    local f = io.open(path, "r")
    if not f then return nil end
    local t = {}
    for l in f:lines() do t[#t + 1] = l end
    f:close()
    return t
end

local function list(dir, suffix)
    local out = {}
    local p = io.popen(string.format("ls %q 2>/dev/null", dir))
    for name in p:lines() do
        if name:sub(-#suffix) == suffix then out[#out + 1] = name end
    end
    p:close()
    table.sort(out)
    return out
end

local known_tags = {
    meta = true, class = true, field = true, param = true, ["return"] = true, async = true,
    alias = true, type = true, overload = true, nodiscard = true, deprecated = true,
    private = true, protected = true, package = true, see = true, enum = true,
    generic = true, operator = true, diagnostic = true, module = true, cast = true,
}
local builtin_types = {
    ["nil"] = true, any = true, boolean = true, string = true, number = true,
    integer = true, ["function"] = true, table = true, thread = true, userdata = true,
    lightuserdata = true, unknown = true, ["true"] = true, ["false"] = true, fun = true,
    self = true,
}

-- Parse every definitions file.
local files = {}            -- name -> {doc=, classes = {...}, functions = {...}}
local declared = {}         -- class and alias names
local used_types = {}       -- {type, where}
local total_functions = 0

local function note_types(expr, where)
    expr = expr:gsub('"[^"]*"', " "):gsub("'[^']*'", " ")
    expr = expr:gsub("[%a_][%w_]*%s*%??%s*:", " ")        -- names in fun(a: T) and {a: T}
    for name in expr:gmatch("[%a_][%w_%.]*") do
        used_types[#used_types + 1] = {name, where}
    end
end

for _, fname in ipairs(list(libdir, ".lua")) do
    local path = libdir .. "/" .. fname
    local src = lines_of(path)
    local chunk, err = loadfile(path)
    if not chunk then problem("%s: does not load: %s", fname, err) end
    local file = {name = fname, classes = {}, functions = {}, doc = nil}
    files[fname] = file
    local block = {}              -- annotation lines since the last code line
    local marker = {}             -- runtime/metatable markers for the next class
    local var_class = {}          -- local variable -> class name
    local last_class = nil
    for n, line in ipairs(src) do
        local where = fname .. ":" .. n
        file.doc = file.doc or line:match("%(docs: (docs/[%w_%-]+%.md)%)")
        local kind, value = line:match("^%-%- (runtime): (%S+)")
        if not kind then kind, value = line:match("^%-%- (metatable): (%S+)") end
        if kind then marker[kind] = value end
        local tag, rest = line:match("^%-%-%-@(%w+)%s*(.*)$")
        if tag then
            if not known_tags[tag] then problem("%s: unknown tag @%s", where, tag) end
            block[#block + 1] = {tag = tag, rest = rest, where = where}
            if tag == "class" or tag == "alias" then
                local name, more = rest:match("^([%w_%.]+)%s*(.*)$")
                if not name then problem("%s: @%s without a name", where, tag) else
                    declared[name] = true
                    if tag == "alias" then note_types(more, where) end
                    if tag == "class" then
                        last_class = {name = name, runtime = marker.runtime, metatable = marker.metatable,
                                      functions = {}, where = where}
                        file.classes[#file.classes + 1] = last_class
                        marker = {}
                    end
                end
            elseif tag == "field" then
                local _, ftype = rest:match("^([%w_%[%]\"]+%??)%s+(%S+)")
                if ftype then note_types(ftype, where) else problem("%s: malformed @field", where) end
            elseif tag == "param" then
                local pname, ptype = rest:match("^([%w_%.]+%??)%s+(.+)$")
                if not pname then problem("%s: malformed @param", where) else
                    -- the type runs to the first space not inside brackets
                    local depth, cut = 0, #ptype
                    for k = 1, #ptype do
                        local c = ptype:sub(k, k)
                        if c == "(" or c == "{" or c == "<" then depth = depth + 1
                        elseif c == ")" or c == "}" or c == ">" then depth = depth - 1
                        elseif c == " " and depth == 0 and ptype:sub(k - 1, k - 1) ~= ":" and ptype:sub(k - 1, k - 1) ~= "," then cut = k - 1; break end
                    end
                    note_types(ptype:sub(1, cut), where)
                end
            elseif tag == "return" then
                local rtype = rest:match("^(%S+)")
                if rtype then note_types(rtype, where) else problem("%s: malformed @return", where) end
            end
        elseif line:match("^local ([%w_]+) = {}") or line:match("^([%w_]+) = {}") then
            local var = line:match("^local ([%w_]+) = {}") or line:match("^([%w_]+) = {}")
            if last_class and #block > 0 then var_class[var] = last_class end
            block = {}
        else
            local var, sep, fn, params = line:match("^function ([%w_]+)([%.:])([%w_]+)%(([^)]*)%)")
            if not var then
                var, fn = line:match('^([%w_]+)%["([%w_]+)"%] = function%(')
                sep, params = ".", line:match("function%(([^)]*)%)")
            end
            if var then
                total_functions = total_functions + 1
                local cls = var_class[var]
                if not cls then problem("%s: function %s%s%s on a table with no @class", where, var, sep, fn)
                else cls.functions[fn] = {where = where, private = false} end
                local want = {}
                for p in (params or ""):gmatch("[^,%s]+") do
                    if not (sep == "." and p == "self") then want[p] = true end
                end
                local have = {}
                for _, b in ipairs(block) do
                    if b.tag == "param" then
                        local pname = b.rest:match("^([%w_%.]+)")
                        have[pname] = true
                        if not want[pname] then problem("%s: @param %s is not a parameter of %s", b.where, pname, fn) end
                    elseif b.tag == "private" or b.tag == "package" then
                        if cls then cls.functions[fn].private = true end
                    end
                end
                for p in pairs(want) do
                    if not have[p] then problem("%s: %s has no @param for %s", where, fn, p) end
                end
                file.functions[fn] = true
            end
            if line:match("%S") and not line:match("^%-%-") then block = {} end
        end
    end
    if not file.doc then problem("%s: names no docs page (a '(docs: docs/X.md)' comment)", fname) end
end

for _, t in ipairs(used_types) do
    if not builtin_types[t[1]] and not declared[t[1]] then
        problem("%s: unknown type %s", t[2], t[1])
    end
end

-- Against the modules as they load.
local function resolve(modname)
    if package.loaded[modname] then return package.loaded[modname] end
    local ok, m = pcall(require, modname)
    if ok and type(m) == "table" then return m end
    local t = package.loaded
    local value = nil
    for part in modname:gmatch("[^%.]+") do
        if value == nil then value = t[part] or (pcall(require, part) and package.loaded[part]) else value = value[part] end
        if type(value) ~= "table" then return nil end
    end
    return value
end

local function compare(cls, tbl, what)
    for name, v in pairs(tbl) do
        if type(v) == "function" and type(name) == "string" and not name:match("^__") and not cls.functions[name] then
            problem("%s: %s has %s, which is not annotated", cls.where, what, name)
        end
    end
    for name, f in pairs(cls.functions) do
        if type(tbl[name]) ~= "function" then
            problem("%s: %s annotated, but %s has no such function", f.where, name, what)
        end
    end
end

local metatable_classes = {}
require "ratchet"
for _, file in pairs(files) do
    for _, cls in ipairs(file.classes) do
        if cls.runtime then
            local m = resolve(cls.runtime)
            if not m then problem("%s: module %s does not load", cls.where, cls.runtime)
            else compare(cls, m, "module " .. cls.runtime) end
        end
        if cls.metatable then
            metatable_classes[cls.metatable] = true
            local mt = debug.getregistry()[cls.metatable]
            if type(mt) ~= "table" then problem("%s: no metatable %s in the registry", cls.where, cls.metatable)
            elseif type(mt.__index) == "table" then compare(cls, mt.__index, "metatable " .. cls.metatable)
            elseif next(cls.functions) then problem("%s: metatable %s has no method table", cls.where, cls.metatable) end
        end
    end
end
for name, v in pairs(debug.getregistry()) do
    if type(name) == "string" and name:match("^ratchet") and type(v) == "table" and v.__name == name
        and not metatable_classes[name] then
        problem("registry metatable %s has no class in library/ (add one marked '-- metatable: %s')", name, name)
    end
end

-- Against the docs.
local function documented_names(doc_lines)
    local names = {}
    for _, line in ipairs(doc_lines) do
        local cell
        if line:match("^##") then cell = line
        elseif line:match("^| `") then cell = line:match("^|([^|]*)|") end
        if cell then
            for code in cell:gmatch("`([^`]+)`") do
                local name = code:match("^[%w_%.:%[%]\"]-([%w_]+)\"?%]?%s*%(")
                if name then names[name] = true end
            end
        end
    end
    return names
end
local lua_builtins = {tostring = true, require = true, pcall = true, print = true}

local doc_for = {}
local annotated_anywhere = {}   -- a page may document another module's method (ssl.md: socket:encrypt)
for _, file in pairs(files) do
    for name in pairs(file.functions) do annotated_anywhere[name] = true end
end
for fname, file in pairs(files) do
    if file.doc then
        doc_for[file.doc] = fname
        local doc = lines_of(root .. "/" .. file.doc)
        if not doc then problem("%s: docs page %s not found", fname, file.doc) else
            local text = table.concat(doc, "\n")
            for name in pairs(documented_names(doc)) do
                if not annotated_anywhere[name] and not lua_builtins[name] then
                    -- the call form of an object (`server()`) is its __call, not a function
                    local call_form = text:find("`" .. name .. "()` (`__call`)", 1, true)
                    if not call_form then problem("%s documents %s(), which %s does not annotate", file.doc, name, fname) end
                end
            end
            for _, cls in ipairs(file.classes) do
                for name, f in pairs(cls.functions) do
                    if not f.private and not text:find("%f[%w_]" .. name .. "%f[^%w_]") then
                        problem("%s: %s is annotated but %s never names it", f.where, name, file.doc)
                    end
                end
            end
        end
    end
end
for _, page in ipairs(list(root .. "/docs", ".md")) do
    local first = (lines_of(root .. "/docs/" .. page) or {})[1] or ""
    local mod, rest = first:match("^# (ratchet[%w_%.]*)(.*)$")
    local titled = rest == "" or (rest or ""):match("^ —") or (rest or ""):match("^ and ")
    if mod and titled and resolve(mod) and not doc_for["docs/" .. page] then
        problem("docs/%s documents module %s, which has no definitions file in library/", page, mod)
    end
end

local nfiles = 0
for _ in pairs(files) do nfiles = nfiles + 1 end
if nfiles == 0 then problem("no definitions files in %s", libdir) end
if #problems > 0 then
    table.sort(problems)
    for _, p in ipairs(problems) do io.stderr:write("luacats: ", p, "\n") end
    io.stderr:write(string.format("luacats: %d problem(s)\n", #problems))
    os.exit(1)
end
print(string.format("luacats: %d files, %d functions ok", nfiles, total_functions))
