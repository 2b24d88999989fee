//! How long `serde_json`'s compact output of a value is, without writing it anywhere: what
//! rule 1 measures of a contact (SPEC §4 rule 1) and the exact size of a response body.

/// The length of `serde_json::to_vec(value)`.
pub(crate) fn written_len(value: &impl serde::Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let written = serde_json::to_writer(&mut count, value);
    // Writing to a counter fails only for non-string map keys, which JSON values and the
    // crate's bodies never have.
    debug_assert!(written.is_ok(), "{written:?}");
    count.0
}
