/*
 * acceptor.c: the one thread that owns stratad's listening socket (single-port.md §3).
 *
 * For each connection: accept4 (non-blocking, close-on-exec; TCP_NODELAY comes from the
 * listener, and is set again on the fd), register it edge-triggered with EPOLLRDHUP,
 * give it an absolute deadline (--peek-timeout), and peek (MSG_PEEK, nothing consumed)
 * until tls_sniff.c can classify it. Then hand it over exactly once:
 *   HTTP/2 preface              -> gRPC core (external:plain)
 *   other plaintext             -> libmicrohttpd (MHD_add_connection)
 *   TLS, ALPN h2 only           -> gRPC core (external:tls; gRPC does the handshake)
 *   TLS, http/1.1 or no ALPN    -> libmicrohttpd's HTTPS daemon (GnuTLS handshake)
 * When TLS is configured the port is TLS-only: plaintext bytes are closed at once.
 * A connection is closed by us on EOF, on RDHUP before it is classified (MSG_PEEK hides
 * EOF while bytes are queued), on bytes that cannot be served, and at its deadline,
 * which arrival of bytes does not extend. Deadlines are equal-length, so the FIFO of
 * pending connections is also ordered by deadline. After the hand-off the receiving
 * stack owns the fd in every case (it closes it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_int.h"
#include "strata/clock.h"
#include "strata/log.h"

struct pending {
    int fd;
    struct sockaddr_storage sa;
    socklen_t sa_len;
    int64_t deadline;
    struct pending *prev, *next;
};

static struct {
    int lfd, epfd, evfd;
    pthread_t thread;
    bool running;
    struct pending *head, *tail;
    uint32_t n_pending;
    struct gw_server *s;
    uint8_t buf[GW_SNIFF_TLS_MAX];
} A = {.lfd = -1, .epfd = -1, .evfd = -1};

static void
unlink_pending(struct pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        A.head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        A.tail = p->prev;
    A.n_pending--;
}

static void
drop(struct pending *p, const char *why)
{
    epoll_ctl(A.epfd, EPOLL_CTL_DEL, p->fd, NULL);
    close(p->fd);
    unlink_pending(p);
    gw_metrics_conn_dropped(why);
    free(p);
}

static void
handoff(struct pending *p, enum gw_sniff kind)
{
    epoll_ctl(A.epfd, EPOLL_CTL_DEL, p->fd, NULL);
    unlink_pending(p);
    gw_metrics_conn(gw_sniff_name(kind));
    switch (kind) {
    case GW_SNIFF_GRPC:
        gw_grpc_handoff(A.lfd, p->fd, false);
        break;
    case GW_SNIFF_TLS_GRPC:
        gw_grpc_handoff(A.lfd, p->fd, true);
        break;
    case GW_SNIFF_HTTP:
        gw_http_handoff(p->fd, &p->sa, p->sa_len, false);
        break;
    case GW_SNIFF_TLS_HTTP:
        gw_http_handoff(p->fd, &p->sa, p->sa_len, true);
        break;
    default:
        close(p->fd);
        break;
    }
    free(p);
}

static void
classify(struct pending *p, bool rdhup)
{
    size_t want = A.s->tls_on ? sizeof A.buf : 24;
    ssize_t n;
    do
        n = recv(p->fd, A.buf, want, MSG_PEEK);
    while (n < 0 && errno == EINTR);
    if (n == 0) {
        drop(p, "eof");
        return;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (rdhup)
                drop(p, "eof");
            return;
        }
        drop(p, "error");
        return;
    }
    enum gw_sniff k =
        A.s->tls_on ? gw_sniff_tls(A.buf, (size_t)n) : gw_sniff_plain(A.buf, (size_t)n);
    if (k == GW_SNIFF_MORE) {
        if (rdhup)
            drop(p, "half-sent");
        return;
    }
    if (k == GW_SNIFF_BAD) {
        drop(p, A.s->tls_on ? "not-tls" : "bad");
        return;
    }
    handoff(p, k);
}

static void
accept_all(void)
{
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(A.lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                st_log(ST_LOG_WARN, "accept", "accept: %s", strerror(errno));
            return;
        }
        if (A.n_pending >= A.s->cfg.max_pending) {
            close(fd);
            gw_metrics_conn_dropped("too-many-pending");
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct pending *p = calloc(1, sizeof *p);
        if (!p) {
            close(fd);
            continue;
        }
        p->fd = fd;
        p->sa = sa;
        p->sa_len = sl;
        p->deadline = st_mono_ns() + A.s->cfg.peek_timeout_ns;
        p->prev = A.tail;
        if (A.tail)
            A.tail->next = p;
        else
            A.head = p;
        A.tail = p;
        A.n_pending++;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = p};
        if (epoll_ctl(A.epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            unlink_pending(p);
            free(p);
            continue;
        }
        classify(p, false); /* the bytes are often already there */
    }
}

static void *
acceptor_main(void *unused)
{
    (void)unused;
    struct epoll_event evs[64];
    for (;;) {
        int timeout = -1;
        if (A.head) {
            int64_t left = A.head->deadline - st_mono_ns();
            timeout = left <= 0 ? 0 : (int)((left + ST_NS_PER_MS - 1) / ST_NS_PER_MS);
        }
        int n = epoll_wait(A.epfd, evs, 64, timeout);
        if (n < 0 && errno != EINTR) {
            st_log(ST_LOG_ERROR, "accept", "epoll_wait: %s", strerror(errno));
            break;
        }
        bool stop = false;
        for (int i = 0; i < n; i++) {
            void *ptr = evs[i].data.ptr;
            if (ptr == &A.lfd)
                accept_all();
            else if (ptr == &A.evfd)
                stop = true;
            else
                classify(ptr, (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
        }
        if (stop)
            break;
        int64_t now = st_mono_ns();
        while (A.head && A.head->deadline <= now)
            drop(A.head, "peek-timeout");
    }
    return NULL;
}

enum st_code
gw_acceptor_bind(struct gw_server *s, struct st_error *err)
{
    A.s = s;
    char port[16];
    snprintf(port, sizeof port, "%d", s->cfg.listen_port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    const char *host = s->cfg.listen_host[0] ? s->cfg.listen_host : NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0)
        return st_error_set(err, ST_EINVAL, "--listen: cannot resolve '%s': %s", s->cfg.listen,
                            gai_strerror(gai));
    int fd = -1, last = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* bound now (a taken port fails here, before the server starts anything), listening
         * only from gw_acceptor_start: no client is left waiting on a server still opening */
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        last = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return st_error_set(err, ST_EIO, "--listen: cannot listen on '%s': %s", s->cfg.listen,
                            strerror(last));
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    s->bound_port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                   : ((struct sockaddr_in *)&sa)->sin_port);
    A.lfd = fd;
    return ST_OK;
}

enum st_code
gw_acceptor_start(struct gw_server *s, struct st_error *err)
{
    if (listen(A.lfd, 1024) != 0)
        return st_error_set(err, ST_EIO, "--listen: cannot listen on '%s': %s", s->cfg.listen,
                            strerror(errno));
    A.epfd = epoll_create1(EPOLL_CLOEXEC);
    A.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (A.epfd < 0 || A.evfd < 0)
        return st_error_set(err, ST_EIO, "epoll/eventfd: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &A.lfd};
    struct epoll_event ev2 = {.events = EPOLLIN, .data.ptr = &A.evfd};
    if (epoll_ctl(A.epfd, EPOLL_CTL_ADD, A.lfd, &ev) != 0 ||
        epoll_ctl(A.epfd, EPOLL_CTL_ADD, A.evfd, &ev2) != 0)
        return st_error_set(err, ST_EIO, "epoll_ctl: %s", strerror(errno));
    if (pthread_create(&A.thread, NULL, acceptor_main, NULL) != 0)
        return st_error_set(err, ST_EIO, "cannot start the acceptor thread");
    pthread_setname_np(A.thread, "acceptor");
    A.running = true;
    return ST_OK;
}

void
gw_acceptor_stop(void)
{
    if (A.running) {
        uint64_t one = 1;
        ssize_t w = write(A.evfd, &one, sizeof one);
        (void)w;
        pthread_join(A.thread, NULL);
        A.running = false;
    }
    while (A.head)
        drop(A.head, "shutdown");
    if (A.lfd >= 0)
        close(A.lfd);
    if (A.epfd >= 0)
        close(A.epfd);
    if (A.evfd >= 0)
        close(A.evfd);
    A.lfd = A.epfd = A.evfd = -1;
}
