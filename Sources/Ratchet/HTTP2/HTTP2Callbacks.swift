import CNGHTTP2
import Glibc

/// nghttp2's session callbacks. They run inside nghttp2_session_mem_recv/mem_send, called
/// from Swift, so they only record what happened in the session's streams and event queue;
/// Lua collects it afterwards. None of them can fail in a way that unwinds.
enum HTTP2Callbacks {
    /// One callbacks object for every session (nghttp2 copies nothing from it per session
    /// but reads it; it is never freed).
    nonisolated(unsafe) static let shared: OpaquePointer = {
        var cb: OpaquePointer?
        nghttp2_session_callbacks_new(&cb)
        nghttp2_session_callbacks_set_on_begin_headers_callback(cb, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(cb, onHeader)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, onDataChunk)
        nghttp2_session_callbacks_set_on_frame_recv_callback(cb, onFrameRecv)
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, onStreamClose)
        nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, onFrameNotSend)
        return cb!
    }()

    @inline(__always) static func session(_ p: UnsafeMutableRawPointer?) -> HTTP2Session {
        Unmanaged<HTTP2Session>.fromOpaque(p!).takeUnretainedValue()
    }

    private static let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, user in
        guard let frame else { return 0 }
        let s = session(user)
        let id = frame.pointee.hd.stream_id
        let st = s.stream(id)
        if frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST { s.setStage(st, id, .head) }
        return 0
    }

    private static let onHeader: nghttp2_on_header_callback = { _, frame, name, nameLen, value, valueLen, _, user in
        guard let frame, let name, let value else { return 0 }
        let s = session(user)
        s.stream(frame.pointee.hd.stream_id).addField(name: name, nameLen, value: value, valueLen,
                                                     limit: s.maxHeaderListSize, maxFields: s.maxFields)
        return 0
    }

    private static let onDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, id, data, len, user in
        guard let data else { return 0 }
        let s = session(user)
        guard let st = s.find(id) else { return 0 }
        let before = st.body.count
        if s.maxBodyBytes > 0 && s.bodyBytes + len > 2 * s.maxBodyBytes {
            // the streams of one connection together hold at most twice one body's limit
            st.refuse(413)
        } else {
            st.addBody(data, len, limit: s.maxBodyBytes)
        }
        s.bodyBytes += st.body.count - before
        return 0
    }

    private static let onFrameRecv: nghttp2_on_frame_recv_callback = { _, frame, user in
        guard let frame else { return 0 }
        let s = session(user)
        let hd = frame.pointee.hd
        switch UInt32(hd.type) {
        case NGHTTP2_HEADERS.rawValue, NGHTTP2_DATA.rawValue:
            guard let st = s.find(hd.stream_id) else { return 0 }
            if UInt32(hd.type) == NGHTTP2_HEADERS.rawValue, !s.isServer, isInterim(st) {
                st.clearFields()   // 1xx: the final response follows
                return 0
            }
            let ended = hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
            if st.refusal != 0 && !st.delivered {
                // refused as soon as it went over, not when the peer finishes sending
                st.delivered = true
                s.setStage(st, hd.stream_id, .none)
                s.post(.refused(hd.stream_id, st.refusal))
            } else if ended && !st.delivered {
                st.delivered = true
                s.setStage(st, hd.stream_id, .none)
                s.post(.message(hd.stream_id, st))
            } else if st.stage == .head {
                s.setStage(st, hd.stream_id, .body)   // the request's headers came, its body follows
            }
        case NGHTTP2_SETTINGS.rawValue:
            if !s.settingsSeen && hd.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0 {
                s.settingsSeen = true
                s.post(.settings)
            }
        case NGHTTP2_GOAWAY.rawValue:
            s.post(.goaway(frame.pointee.goaway.last_stream_id, frame.pointee.goaway.error_code))
        default:
            break
        }
        return 0
    }

    private static func isInterim(_ st: HTTP2Stream) -> Bool {
        guard let f = st.fields.first, st.fieldBytes[f.name] == [0x3a, 0x73, 0x74, 0x61, 0x74, 0x75, 0x73],  // ":status"
              f.value.count == 3 else { return false }
        return st.fieldBytes[f.value.lowerBound] == 0x31   // "1xx"
    }

    private static let onStreamClose: nghttp2_on_stream_close_callback = { _, id, code, user in
        let s = session(user)
        if var st = s.remove(id) {
            s.setStage(st, id, .none)
            if !st.delivered {
                s.bodyBytes -= st.body.count
                s.post(.reset(id, code))
            }
            s.recycle(&st)
        }
        return 0
    }

    /// A request that never went out (GOAWAY arrived while it was queued) opens no stream,
    /// so no close follows: it is reported as refused, which a client may retry.
    private static let onFrameNotSend: nghttp2_on_frame_not_send_callback = { _, frame, _, user in
        guard let frame, UInt32(frame.pointee.hd.type) == NGHTTP2_HEADERS.rawValue else { return 0 }
        let s = session(user)
        let id = frame.pointee.hd.stream_id
        if let st = s.remove(id), !st.delivered {
            s.post(.reset(id, NGHTTP2_REFUSED_STREAM.rawValue))
        }
        return 0
    }

    /// The data provider of every body sent: what the Lua side queued with respond/request/
    /// send, DEFERRED while the queue is empty and more is to come.
    static let readBody: nghttp2_data_source_read_callback = { _, id, buf, length, flags, _, user in
        let s = session(user)
        guard let st = s.find(id), let buf, let flags else {
            return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        let (n, eof) = st.take(into: buf, length: length)
        if eof {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
        } else if n == 0 {
            st.deferred = true
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        return n
    }
}
