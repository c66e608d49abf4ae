//! The kernel's answers: `errno` values (include/uapi/asm-generic/errno-base.h
//! and errno.h) as one type, produced by the kernel layer and carried as a
//! value to whoever reports it (the virtual files, the shell, a FUSE
//! mount), never as a string to be parsed back.

/// An errno value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Errno {
    EPERM,
    ENOENT,
    ESRCH,
    EIO,
    ENOMEM,
    EACCES,
    EFAULT,
    EBUSY,
    EEXIST,
    ENODEV,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ENOSPC,
    EAGAIN,
    ERANGE,
}

impl Errno {
    /// The number (x86-64).
    pub fn code(self) -> i32 {
        match self {
            Errno::EPERM => 1,
            Errno::ENOENT => 2,
            Errno::ESRCH => 3,
            Errno::EIO => 5,
            Errno::EAGAIN => 11,
            Errno::ENOMEM => 12,
            Errno::EACCES => 13,
            Errno::EFAULT => 14,
            Errno::EBUSY => 16,
            Errno::EEXIST => 17,
            Errno::ENODEV => 19,
            Errno::ENOTDIR => 20,
            Errno::EISDIR => 21,
            Errno::EINVAL => 22,
            Errno::ENOSPC => 28,
            Errno::ERANGE => 34,
        }
    }

    /// `strerror()` (glibc's wording, as a shell prints it).
    pub fn message(self) -> &'static str {
        match self {
            Errno::EPERM => "Operation not permitted",
            Errno::ENOENT => "No such file or directory",
            Errno::ESRCH => "No such process",
            Errno::EIO => "Input/output error",
            Errno::EAGAIN => "Resource temporarily unavailable",
            Errno::ENOMEM => "Cannot allocate memory",
            Errno::EACCES => "Permission denied",
            Errno::EFAULT => "Bad address",
            Errno::EBUSY => "Device or resource busy",
            Errno::EEXIST => "File exists",
            Errno::ENODEV => "No such device",
            Errno::ENOTDIR => "Not a directory",
            Errno::EISDIR => "Is a directory",
            Errno::EINVAL => "Invalid argument",
            Errno::ENOSPC => "No space left on device",
            Errno::ERANGE => "Numerical result out of range",
        }
    }

    pub const ALL: [Errno; 16] = [
        Errno::EPERM,
        Errno::ENOENT,
        Errno::ESRCH,
        Errno::EIO,
        Errno::ENOMEM,
        Errno::EACCES,
        Errno::EFAULT,
        Errno::EBUSY,
        Errno::EEXIST,
        Errno::ENODEV,
        Errno::ENOTDIR,
        Errno::EISDIR,
        Errno::EINVAL,
        Errno::ENOSPC,
        Errno::EAGAIN,
        Errno::ERANGE,
    ];
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// A refused operation: the errno and what was wrong, naming the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{detail} ({errno})")]
pub struct KernelError {
    pub errno: Errno,
    pub detail: String,
}

impl KernelError {
    pub fn new(errno: Errno, detail: impl Into<String>) -> KernelError {
        KernelError {
            errno,
            detail: detail.into(),
        }
    }
}

/// `Err(KernelError)`.
pub fn err<T>(errno: Errno, detail: impl Into<String>) -> Result<T, KernelError> {
    Err(KernelError::new(errno, detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_kernels_and_distinct() {
        assert_eq!(Errno::EINVAL.code(), 22);
        assert_eq!(Errno::ENOMEM.code(), 12);
        assert_eq!(Errno::EBUSY.code(), 16);
        let mut codes: Vec<i32> = Errno::ALL.iter().map(|e| e.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Errno::ALL.len());
    }
}
