// A flood of idle HTTP/2 connections opened all at once, beside a victim making gRPC calls on a
// connection of its own. Each flood connection sends the client preface and an empty SETTINGS
// frame, waits for the server's SETTINGS (the server has set up its session), acknowledges it,
// stays open for -hold, and is closed. Written in Go so that the client's own cost per connection
// stays far below the server's it measures.
//
//	connection-flood -target 127.0.0.1:PORT -connections 2000 -hold 1s -rate 300 [-pid SERVER_PID]
//
// Prints one JSON line: how long until every connection was accepted, and the victim's calls
// (latency from their scheduled start, so a stall cannot hide) in each phase: before the flood,
// while it opens, while it is held open, and in the second after it closes; with -pid, the
// server's CPU time in each phase (from /proc, so on the same machine). The victim runs in a
// process of its own (this program with -victim): in this one, 2,000 goroutines dialling at once
// would delay its calls by hundreds of milliseconds whatever the server did.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

var preface = append([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0, 0, 0, 4, 0, 0, 0, 0, 0)
var settingsAck = []byte{0, 0, 0, 4, 1, 0, 0, 0, 0}

type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error)      { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error { *(v.(*[]byte)) = append([]byte(nil), data...); return nil }
func (rawCodec) Name() string                               { return "proto" }

// waitForSettings reads frames until the server's first SETTINGS frame (not an ACK).
func waitForSettings(conn net.Conn) error {
	header := make([]byte, 9)
	for {
		if _, err := io.ReadFull(conn, header); err != nil {
			return err
		}
		length := int(header[0])<<16 | int(header[1])<<8 | int(header[2])
		if _, err := io.CopyN(io.Discard, conn, int64(length)); err != nil {
			return err
		}
		if header[3] == 4 && header[4]&1 == 0 {
			return nil
		}
		if header[3] == 7 {
			return fmt.Errorf("GOAWAY code %d", binary.BigEndian.Uint32(header[5:9]))
		}
	}
}

type call struct {
	at      time.Time
	latency time.Duration
	failed  bool
}

type phaseReport struct {
	Calls  int     `json:"calls"`
	Failed int     `json:"failed"`
	P50Ms  float64 `json:"p50Ms"`
	P99Ms  float64 `json:"p99Ms"`
	MaxMs  float64 `json:"maxMs"`
}

func report(calls []call, from, to time.Time) phaseReport {
	var latencies []time.Duration
	r := phaseReport{}
	for _, c := range calls {
		if c.at.Before(from) || !c.at.Before(to) {
			continue
		}
		r.Calls++
		if c.failed {
			r.Failed++
		} else {
			latencies = append(latencies, c.latency)
		}
	}
	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	at := func(q float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[int(q*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	r.P50Ms, r.P99Ms, r.MaxMs = at(0.5), at(0.99), at(1)
	return r
}

// cpuMs is the CPU time (user and system) process pid has used, from /proc/PID/stat, or -1.
func cpuMs(pid int) float64 {
	if pid == 0 {
		return -1
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// Fields after the command name (in parentheses, which may hold spaces): utime and stime are
	// the 12th and 13th, in clock ticks of 10 ms.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) * 10
}

func perSecond(ms float64, d time.Duration, pid int) float64 {
	if pid == 0 {
		return -1
	}
	return ms / d.Seconds()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// runVictim calls Redirect at a fixed rate on one connection, open loop, until stdin closes;
// prints "ready", then for each call its scheduled start and latency in microseconds and 1 (ok)
// or 0 (failed).
func runVictim(target string, rate int, video string) {
	encoding.RegisterCodec(rawCodec{})
	conn, err := grpc.Dial(target, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	request := append([]byte{0x0a, byte(len(video))}, video...)
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready")
	out.Flush()
	var mu sync.Mutex
	var results strings.Builder
	stop := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	var inFlight sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; ; i++ {
		intended := start.Add(time.Duration(i) * interval)
		if d := time.Until(intended); d > 0 {
			time.Sleep(d)
		}
		select {
		case <-stop:
			inFlight.Wait()
			out.WriteString(results.String())
			out.Flush()
			return
		default:
		}
		inFlight.Add(1)
		go func(intended time.Time) {
			defer inFlight.Done()
			var reply []byte
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := conn.Invoke(ctx, "/loadBalancer.loadBalancer/Redirect", &request, &reply)
			cancel()
			took := time.Since(intended)
			ok := 1
			if err != nil {
				ok = 0
			}
			mu.Lock()
			fmt.Fprintf(&results, "%d %d %d\n", intended.UnixMicro(), took.Microseconds(), ok)
			mu.Unlock()
		}(intended)
	}
}

func main() {
	target := flag.String("target", "127.0.0.1:50051", "host:port")
	count := flag.Int("connections", 2000, "connections opened at once")
	hold := flag.Duration("hold", time.Second, "how long the connections stay open once all are settled")
	timeout := flag.Duration("timeout", 10*time.Second, "a connection not accepted by then counts as not accepted")
	rate := flag.Int("rate", 300, "victim calls per second")
	settle := flag.Duration("settle", time.Second, "victim calls before the flood and after it closes")
	video := flag.String("video", "http://s1.origin-cluster/video/123/xcg2djHckad.m3u8", "the video URL the victim asks for")
	pid := flag.Int("pid", 0, "the server's process, whose CPU time is reported per phase")
	victimMode := flag.Bool("victim", false, "be the victim: call at -rate until stdin closes, one line per call on stdout")
	flag.Parse()

	if *victimMode {
		runVictim(*target, *rate, *video)
		return
	}
	victimCmd := exec.Command(os.Args[0], "-victim", "-target", *target, "-rate", strconv.Itoa(*rate), "-video", *video)
	victimCmd.Stderr = os.Stderr
	toVictim, err := victimCmd.StdinPipe()
	if err != nil {
		fail(err)
	}
	fromVictim, err := victimCmd.StdoutPipe()
	if err != nil {
		fail(err)
	}
	if err := victimCmd.Start(); err != nil {
		fail(err)
	}
	lines := bufio.NewScanner(fromVictim)
	if !lines.Scan() || lines.Text() != "ready" {
		fail(fmt.Errorf("the victim did not connect"))
	}
	var calls []call
	victimDone := make(chan struct{})
	go func() {
		defer close(victimDone)
		for lines.Scan() {
			var at, latency int64
			var ok int
			if _, err := fmt.Sscan(lines.Text(), &at, &latency, &ok); err == nil {
				calls = append(calls, call{at: time.UnixMicro(at), latency: time.Duration(latency) * time.Microsecond, failed: ok == 0})
			}
		}
	}()

	victimStart := time.Now()
	time.Sleep(*settle)
	var mu sync.Mutex
	accepted, notAccepted := 0, 0
	var lastAccepted time.Time
	conns := make([]net.Conn, 0, *count)
	var wg sync.WaitGroup
	cpuAtStart := cpuMs(*pid)
	floodStart := time.Now()
	for i := 0; i < *count; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", *target, *timeout)
			if err == nil {
				conn.SetDeadline(floodStart.Add(*timeout))
				if _, err = conn.Write(preface); err == nil {
					err = waitForSettings(conn)
				}
				if err == nil {
					_, err = conn.Write(settingsAck)
				}
			}
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				notAccepted++
				if conn != nil {
					conn.Close()
				}
				return
			}
			accepted++
			lastAccepted = now
			conns = append(conns, conn)
		}()
	}
	wg.Wait()
	allSettled := time.Now()
	cpuAtSettled := cpuMs(*pid)
	time.Sleep(*hold)
	closing := time.Now()
	cpuAtClosing := cpuMs(*pid)
	for _, conn := range conns {
		conn.Close()
	}
	time.Sleep(*settle)
	end := time.Now()
	cpuAtEnd := cpuMs(*pid)
	toVictim.Close()
	<-victimDone
	if err := victimCmd.Wait(); err != nil {
		fail(err)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"connections":   *count,
		"accepted":      accepted,
		"notAccepted":   notAccepted,
		"allAcceptedMs": float64(lastAccepted.Sub(floodStart).Microseconds()) / 1000,
		// CPU milliseconds per second of each phase; -1 without -pid.
		"serverCpuMsPerS": map[string]float64{
			"opening": perSecond(cpuAtSettled-cpuAtStart, allSettled.Sub(floodStart), *pid),
			"open":    perSecond(cpuAtClosing-cpuAtSettled, closing.Sub(allSettled), *pid),
			"closing": perSecond(cpuAtEnd-cpuAtClosing, end.Sub(closing), *pid),
		},
		"victim": map[string]phaseReport{
			"before":  report(calls, victimStart, floodStart),
			"opening": report(calls, floodStart, allSettled),
			"open":    report(calls, allSettled, closing),
			"closing": report(calls, closing, end),
			"all":     report(calls, floodStart, end),
		},
	})
}
