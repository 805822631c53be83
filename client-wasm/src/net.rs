//! The thin IO layer under [`crate::sync`]: one browser WebSocket carrying binary frames.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

/// What the socket reports. Handlers are called from browser events, never re-entrantly.
pub(crate) trait SocketHandler: 'static {
    fn opened(&self);
    fn frame(&self, bytes: Vec<u8>);
    /// `code` is 1006 when the connection failed or dropped without a close frame (the
    /// browser hides the HTTP status of a refused upgrade).
    fn closed(&self, code: u16, reason: String);
}

/// An open (or opening) connection. Dropping it closes the socket and detaches the handlers.
pub(crate) struct Socket {
    ws: WebSocket,
    // The callbacks must live as long as the socket may call them.
    _callbacks: [Closure<dyn FnMut(JsValue)>; 3],
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("url", &self.ws.url())
            .finish()
    }
}

impl Socket {
    /// `path` is absolute (`/sync/...`); the scheme and host are the page's.
    pub(crate) fn connect<H: SocketHandler>(
        path: &str,
        handler: std::rc::Rc<H>,
    ) -> Result<Self, JsValue> {
        let location = web_sys::window()
            .ok_or_else(|| JsValue::from_str("no window"))?
            .location();
        let scheme = if location.protocol()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        let url = format!("{scheme}://{}{path}", location.host()?);
        let ws = WebSocket::new(&url)?;
        ws.set_binary_type(BinaryType::Arraybuffer);

        let h = handler.clone();
        let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| h.opened());
        let h = handler.clone();
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            let Ok(e) = e.dyn_into::<MessageEvent>() else {
                return;
            };
            if let Ok(buf) = e.data().dyn_into::<js_sys::ArrayBuffer>() {
                h.frame(js_sys::Uint8Array::new(&buf).to_vec());
            }
        });
        let h = handler;
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            let (code, reason) = e
                .dyn_into::<CloseEvent>()
                .map(|e| (e.code(), e.reason()))
                .unwrap_or((1006, String::new()));
            h.closed(code, reason);
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket {
            ws,
            _callbacks: [on_open, on_message, on_close],
        })
    }

    pub(crate) fn is_open(&self) -> bool {
        self.ws.ready_state() == WebSocket::OPEN
    }

    pub(crate) fn send(&self, frame: &[u8]) {
        if self.is_open() {
            // A failed send means the socket is closing; its close event follows.
            let _ = self.ws.send_with_u8_array(frame);
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}
