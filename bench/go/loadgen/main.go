// An open-loop gRPC load generator on one connection (grpc-go, as the measurements
// used): starts calls at a fixed rate whatever the server does, measures each call from its
// intended start (so stalls cannot hide), and prints percentiles as one JSON line.
//
//	loadgen -target 127.0.0.1:PORT -rps 15000 -duration 10s -max-in-flight 50
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error)      { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error { *(v.(*[]byte)) = append([]byte(nil), data...); return nil }
func (rawCodec) Name() string                               { return "proto" }

func main() {
	target := flag.String("target", "127.0.0.1:50051", "host:port")
	rps := flag.Int("rps", 15000, "calls started per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	warmup := flag.Duration("warmup", 2*time.Second, "calls in this first period are not measured")
	maxInFlight := flag.Int("max-in-flight", 50, "calls open at once at most; a call that cannot start on time counts from its intended start")
	video := flag.String("video", "http://s1.origin-cluster/video/123/xcg2djHckad.m3u8", "the video URL sent")
	flag.Parse()
	encoding.RegisterCodec(rawCodec{})

	conn, err := grpc.Dial(*target, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	request := append([]byte{0x0a, byte(len(*video))}, *video...)

	var mu sync.Mutex
	latencies := make([]time.Duration, 0, int(duration.Seconds()+1)*(*rps))
	failed := 0
	slots := make(chan struct{}, *maxInFlight)
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(*rps)
	start := time.Now()
	measureFrom := start.Add(*warmup)
	end := start.Add(*warmup + *duration)
	for i := 0; ; i++ {
		intended := start.Add(time.Duration(i) * interval)
		if intended.After(end) {
			break
		}
		if d := time.Until(intended); d > 0 {
			time.Sleep(d)
		}
		slots <- struct{}{}
		wg.Add(1)
		go func(intended time.Time) {
			defer wg.Done()
			var reply []byte
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := conn.Invoke(ctx, "/loadBalancer.loadBalancer/Redirect", &request, &reply)
			cancel()
			<-slots
			took := time.Since(intended)
			if intended.Before(measureFrom) {
				return
			}
			mu.Lock()
			if err != nil {
				failed++
			} else {
				latencies = append(latencies, took)
			}
			mu.Unlock()
		}(intended)
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)
	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"rps": *rps, "ok": len(latencies), "failed": failed, "achievedRps": float64(len(latencies)) / elapsed.Seconds(),
		"p50Ms": pct(0.5), "p90Ms": pct(0.9), "p99Ms": pct(0.99), "p999Ms": pct(0.999), "maxMs": pct(1),
	})
}
