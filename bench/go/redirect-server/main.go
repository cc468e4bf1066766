// A minimal grpc-go Redirect server: the baseline for bench/latency.sh. No logging, no metrics,
// the rule reduced to the CDN answer (the cost of a call is the framework's). Messages are
// decoded by hand (field 1, a string) so that no protoc code generation is needed.
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o /tmp/redirect-server bench/go/redirect-server/main.go
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// rawCodec passes messages through as bytes; the handler parses them.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error)      { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error { *(v.(*[]byte)) = append([]byte(nil), data...); return nil }
func (rawCodec) Name() string                               { return "proto" }

// field1 reads the first length-delimited field 1 of a one-field message.
func field1(b []byte) string {
	if len(b) < 2 || b[0] != 0x0a {
		return ""
	}
	n, i := 0, 1
	for shift := 0; i < len(b); shift += 7 {
		c := b[i]
		i++
		n |= int(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	if i+n > len(b) {
		return ""
	}
	return string(b[i : i+n])
}

func encode(s string) []byte {
	out := []byte{0x0a}
	n := len(s)
	for n >= 0x80 {
		out = append(out, byte(n)|0x80)
		n >>= 7
	}
	return append(append(out, byte(n)), s...)
}

func redirect(_ interface{}, ctx context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
	var in []byte
	if err := dec(&in); err != nil {
		return nil, err
	}
	video := field1(in)
	rest := strings.TrimPrefix(strings.TrimPrefix(video, "http://"), "https://")
	host, path, _ := strings.Cut(rest, "/")
	server, _, _ := strings.Cut(host, ".")
	out := encode("http://cdn.example.com/" + server + "/" + path)
	return &out, nil
}

func main() {
	encoding.RegisterCodec(rawCodec{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: "loadBalancer.loadBalancer",
		HandlerType: (*interface{})(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Redirect", Handler: redirect}},
	}, struct{}{})
	fmt.Printf("{\"port\":%d}\n", lis.Addr().(*net.TCPAddr).Port)
	s.Serve(lis)
}
