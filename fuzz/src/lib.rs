//! What every fuzz target shares: the stack-overflow setup and what each does with an input.

/// Makes a stack overflow a crash that libFuzzer reports, with its reproducer. Without a
/// sanitizer nothing gives the SIGSEGV handler a stack of its own, and an overflow killed
/// the process silently. Call it from `init:` (before libFuzzer installs its handlers):
/// libFuzzer's handler replaces this one and keeps its `SA_ONSTACK`.
pub fn catch_stack_overflows() {
    const SIZE: usize = 1 << 16;
    let stack: &'static mut [u8] = Box::leak(vec![0u8; SIZE].into_boxed_slice());
    // SAFETY: the alternate stack is leaked, so it outlives the thread; the action is a
    // zeroed sigaction with the default disposition.
    unsafe {
        let alt = libc::stack_t { ss_sp: stack.as_mut_ptr().cast(), ss_flags: 0, ss_size: SIZE };
        assert_eq!(libc::sigaltstack(&alt, std::ptr::null_mut()), 0, "sigaltstack");
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        action.sa_sigaction = libc::SIG_DFL;
        assert_eq!(libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut()), 0, "sigaction");
    }
}

/// What each target does with an input; the regression tests replay findings with it.
#[path = "../../crates/scanhook-server/tests/fuzz/inputs.rs"]
pub mod inputs;
