// ext_shim.cc: the one C++ file of stratad. gRPC core 1.51 can run its normal accept
// path (including the TLS handshake) on a socket we accepted ourselves, through the
// `external:` listener hook: grpc_server_add_http2_port(srv, "external:NAME", creds)
// writes a grpc_core::TcpServerFdHandler* into the pointer channel arg named
// "external:NAME". That class is declared in an internal header
// (src/core/lib/iomgr/tcp_server.h), which Debian does not install, so its declaration
// is mirrored here: a virtual destructor, then Handle(listener_fd, fd, pending_read).
// This is an ABI dependency on libgrpc 1.51 (single-port.md §5); stratad's start-up
// self-test makes one gRPC call through the public port, so a changed ABI fails at
// start instead of in production. gRPC core owns and deletes the handler: never
// delete it, and never call it after grpc_server_shutdown_and_notify.
#include <grpc/byte_buffer.h>

namespace grpc_core {
class TcpServerFdHandler {
  public:
    virtual ~TcpServerFdHandler() {}
    virtual void Handle(int listener_fd, int fd, grpc_byte_buffer *pending_read) = 0;
};
} // namespace grpc_core

extern "C" void gw_ext_handle(void *handler, int listener_fd, int fd);

extern "C" void
gw_ext_handle(void *handler, int listener_fd, int fd)
{
    static_cast<grpc_core::TcpServerFdHandler *>(handler)->Handle(listener_fd, fd, nullptr);
}
