import CLua

// Placeholder until this event source lands: an empty module table.
enum ExecLibrary {
    static func open(_ lua: Lua) -> Int32 {
        lua.newTable()
        return 1
    }
}
