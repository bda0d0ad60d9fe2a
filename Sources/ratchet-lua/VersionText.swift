import CLua
import Ratchet

/// `ratchet-lua -v`: the Lua line lua5.4 prints, then ratchet and the libraries it runs
/// on, with the versions loaded in this process.
enum VersionText {
    static var text: String {
        let lua = "Lua \(LUA_VERSION_MAJOR).\(LUA_VERSION_MINOR).\(LUA_VERSION_RELEASE)  Copyright (C) 1994-2022 Lua.org, PUC-Rio"
        let libraries = LibraryVersions.all().map { "\($0.name) \($0.version)" }.joined(separator: ", ")
        return "\(lua)\nratchet \(ratchetVersion) (\(libraries))\n"
    }
}
