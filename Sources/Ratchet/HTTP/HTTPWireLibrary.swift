/// `ratchet.httpwire`: the native parts of `ratchet.http.server`'s per-request work
/// (request heads into Lua tables, response heads into strings, Content-Length request bodies
/// received into one string). Internal to the Lua HTTP modules; its functions trust the
/// limits they are given and raise only argument errors (and a send error of the socket given
/// to build_response_head; receive_body's are recv's and the body deadline's).
enum HTTPWireLibrary {
    static func open(_ lua: Lua) -> Int32 {
        lua.pushLibrary([("parse_request_head", RequestHead.parse), ("build_response_head", ResponseHead.build),
                          ("date_line", HTTPDate.dateLine),
                          ("serve_requests", ConnectionLoop.serve), ("receive_body", RequestBody.receive)])
    }
}
