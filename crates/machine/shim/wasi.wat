;; The WASI preview-1 shim: the WASI functions stock programs import, written over the
;; machine's primitives, and linked into a program at lowering (crates/machine/src/link.rs).
;; The machine, wasmtime and wasmi all run the linked module, so WASI behaves identically in
;; every engine and needs no proof machinery of its own.
;;
;; What a program sees:
;;   fd 0 (stdin)   the request input; fd_read returns it and then end of file
;;   fd 1 (stdout)  appended to the output, which is the result (ecm.output traps past the cap)
;;   fd 2 (stderr)  shown by `ecm program run` (ecm.log), not part of the result
;;   other fds      do not exist (EBADF); no files, no preopened directories
;;   args, environ  empty
;;   clocks         always 0
;;   random_get     a fixed pseudo-random sequence (splitmix64 from a constant seed): the same
;;                  bytes on every run, so NOT random. Rust's HashMap seeds itself with it.
;;   proc_exit      halts with the exit code (ecm.exit)
;;
;; Memory is the program's own (memory 0 after linking). Bad pointers trap, as loads and
;; stores do, identically in every engine.
(module
  (import "ecm" "input_len" (func $input_len (result i32)))
  (import "ecm" "input_read" (func $input_read (param i32 i32 i32)))
  (import "ecm" "output" (func $output (param i32 i32)))
  (import "ecm" "log" (func $log (param i32 i32)))
  (import "ecm" "exit" (func $exit (param i32)))
  (import "env" "memory" (memory 0))

  ;; Bytes of the input fd_read has returned so far.
  (global $cursor (mut i32) (i32.const 0))
  ;; splitmix64 state for random_get.
  (global $rng (mut i64) (i64.const 0x0123456789abcdef))

  ;; errno values (wasi_snapshot_preview1)
  ;;   0 success, 8 badf, 28 inval, 52 nosys, 58 notsup, 70 spipe

  (func (export "fd_read") (param $fd i32) (param $iovs i32) (param $iovs_len i32) (param $nread i32) (result i32)
    (local $total i32) (local $buf i32) (local $len i32) (local $n i32) (local $left i32)
    (if (local.get $fd) (then (return (i32.const 8))))
    (local.set $left (i32.sub (call $input_len) (global.get $cursor)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $iovs_len)))
        (local.set $buf (i32.load (local.get $iovs)))
        (local.set $len (i32.load offset=4 (local.get $iovs)))
        (local.set $n
          (select (local.get $len) (local.get $left) (i32.le_u (local.get $len) (local.get $left))))
        (call $input_read (local.get $buf) (global.get $cursor) (local.get $n))
        (global.set $cursor (i32.add (global.get $cursor) (local.get $n)))
        (local.set $left (i32.sub (local.get $left) (local.get $n)))
        (local.set $total (i32.add (local.get $total) (local.get $n)))
        (br_if $done (i32.lt_u (local.get $n) (local.get $len)))
        (local.set $iovs (i32.add (local.get $iovs) (i32.const 8)))
        (local.set $iovs_len (i32.sub (local.get $iovs_len) (i32.const 1)))
        (br $next)))
    (i32.store (local.get $nread) (local.get $total))
    (i32.const 0))

  (func (export "fd_write") (param $fd i32) (param $iovs i32) (param $iovs_len i32) (param $nwritten i32) (result i32)
    (local $total i32) (local $buf i32) (local $len i32)
    (if (i32.or (i32.eqz (local.get $fd)) (i32.gt_u (local.get $fd) (i32.const 2)))
      (then (return (i32.const 8))))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $iovs_len)))
        (local.set $buf (i32.load (local.get $iovs)))
        (local.set $len (i32.load offset=4 (local.get $iovs)))
        (if (i32.eq (local.get $fd) (i32.const 1))
          (then (call $output (local.get $buf) (local.get $len)))
          (else (call $log (local.get $buf) (local.get $len))))
        (local.set $total (i32.add (local.get $total) (local.get $len)))
        (local.set $iovs (i32.add (local.get $iovs) (i32.const 8)))
        (local.set $iovs_len (i32.sub (local.get $iovs_len) (i32.const 1)))
        (br $next)))
    (i32.store (local.get $nwritten) (local.get $total))
    (i32.const 0))

  (func (export "proc_exit") (param $code i32)
    (call $exit (local.get $code))
    (unreachable))

  ;; Empty argument and environment lists.
  (func (export "args_sizes_get") (param $count i32) (param $size i32) (result i32)
    (i32.store (local.get $count) (i32.const 0))
    (i32.store (local.get $size) (i32.const 0))
    (i32.const 0))
  (func (export "args_get") (param $argv i32) (param $buf i32) (result i32)
    (i32.const 0))
  (func (export "environ_sizes_get") (param $count i32) (param $size i32) (result i32)
    (i32.store (local.get $count) (i32.const 0))
    (i32.store (local.get $size) (i32.const 0))
    (i32.const 0))
  (func (export "environ_get") (param $environ i32) (param $buf i32) (result i32)
    (i32.const 0))

  ;; Clocks stand still at 0, with a resolution of 1 ns.
  (func (export "clock_time_get") (param $id i32) (param $precision i64) (param $time i32) (result i32)
    (i64.store (local.get $time) (i64.const 0))
    (i32.const 0))
  (func (export "clock_res_get") (param $id i32) (param $res i32) (result i32)
    (i64.store (local.get $res) (i64.const 1))
    (i32.const 0))

  ;; Deterministic bytes, documented as not random.
  (func (export "random_get") (param $buf i32) (param $len i32) (result i32)
    (local $x i64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $len)))
        (global.set $rng (i64.add (global.get $rng) (i64.const 0x9e3779b97f4a7c15)))
        (local.set $x (global.get $rng))
        (local.set $x (i64.mul (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 30)))
                               (i64.const 0xbf58476d1ce4e5b9)))
        (local.set $x (i64.mul (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 27)))
                               (i64.const 0x94d049bb133111eb)))
        (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 31))))
        (i32.store8 (local.get $buf) (i32.wrap_i64 (local.get $x)))
        (local.set $buf (i32.add (local.get $buf) (i32.const 1)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  ;; The three standard streams behave as pipes; nothing else exists.
  (func $is_std (param $fd i32) (result i32)
    (i32.le_u (local.get $fd) (i32.const 2)))
  (func (export "fd_close") (param $fd i32) (result i32)
    (select (i32.const 0) (i32.const 8) (call $is_std (local.get $fd))))
  (func (export "fd_seek") (param $fd i32) (param $offset i64) (param $whence i32) (param $new i32) (result i32)
    (select (i32.const 70) (i32.const 8) (call $is_std (local.get $fd))))
  (func (export "fd_tell") (param $fd i32) (param $offset i32) (result i32)
    (select (i32.const 70) (i32.const 8) (call $is_std (local.get $fd))))
  (func (export "fd_sync") (param $fd i32) (result i32)
    (select (i32.const 0) (i32.const 8) (call $is_std (local.get $fd))))
  ;; fdstat: filetype u8 @0 (0: unknown, as for a pipe), flags u16 @2, rights u64 @8 and @16.
  ;; Rights: fd_read (1 << 1) on stdin, fd_write (1 << 6) on stdout and stderr; no seek or
  ;; tell, so libc treats them as streams, not terminals.
  (func (export "fd_fdstat_get") (param $fd i32) (param $stat i32) (result i32)
    (if (i32.eqz (call $is_std (local.get $fd))) (then (return (i32.const 8))))
    (i64.store (local.get $stat) (i64.const 0))
    (i64.store offset=8 (local.get $stat)
      (select (i64.const 2) (i64.const 64) (i32.eqz (local.get $fd))))
    (i64.store offset=16 (local.get $stat) (i64.const 0))
    (i32.const 0))
  (func (export "fd_fdstat_set_flags") (param $fd i32) (param $flags i32) (result i32)
    (select (i32.const 58) (i32.const 8) (call $is_std (local.get $fd))))
  ;; No preopened directories, so no path resolves.
  (func (export "fd_prestat_get") (param $fd i32) (param $prestat i32) (result i32)
    (i32.const 8))
  (func (export "fd_prestat_dir_name") (param $fd i32) (param $path i32) (param $len i32) (result i32)
    (i32.const 8))
  (func (export "path_open")
    (param $dirfd i32) (param $dirflags i32) (param $path i32) (param $path_len i32)
    (param $oflags i32) (param $rights_base i64) (param $rights_inheriting i64)
    (param $fdflags i32) (param $fd i32) (result i32)
    (i32.const 8))
  (func (export "sched_yield") (result i32)
    (i32.const 0))
  (func (export "poll_oneoff") (param $in i32) (param $out i32) (param $n i32) (param $nevents i32) (result i32)
    (i32.const 58))
)
