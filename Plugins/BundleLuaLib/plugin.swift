import PackagePlugin
import Foundation

/// Compiles the package's `LuaLib/**/*.lua` into the target that uses this plugin, so an app
/// built from a host package finds the Lua modules of the same ratchet version with no
/// install step (SwiftPM resources would need Foundation's Bundle at run time).
@main
struct BundleLuaLib: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL.appending(path: "LuaLib")
        var files: [URL] = []
        if let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) {
            for case let url as URL in e where url.pathExtension == "lua" { files.append(url) }
        }
        files.sort { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appending(path: "BundledLuaModules.swift")
        return [.buildCommand(
            displayName: "Bundling \(files.count) Lua modules",
            executable: try context.tool(named: "bundle-lualib").url,
            arguments: [output.path, root.path] + files.map(\.path),
            inputFiles: files,
            outputFiles: [output])]
    }
}

