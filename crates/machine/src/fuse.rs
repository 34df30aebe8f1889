//! Superinstructions: the interpreter's private copy of the code, where the start of a common
//! short sequence (`local.get; i32.add`, `local.get; const; i32.rotl`, ...) becomes one internal
//! opcode that does the whole sequence in one dispatch and counts its steps.
//!
//! Only the first instruction of a sequence changes; the ones after it stay as they were, so
//! a jump into the middle of a sequence runs the plain code. When the step budget ends inside
//! a sequence, the interpreter runs the plain first instruction instead, so a run stops at
//! exactly the step it was asked to. Nothing here reaches the code tree or a proof: the
//! canonical code is `Program::code`.

use crate::inst::{Inst, Op};

/// The i32 operators the superinstructions cover, in the order of the rows of [`FUSED`].
const BINOPS: [Op; 11] = [
    Op::I32Add,
    Op::I32Sub,
    Op::I32Mul,
    Op::I32And,
    Op::I32Or,
    Op::I32Xor,
    Op::I32Shl,
    Op::I32ShrS,
    Op::I32ShrU,
    Op::I32Rotl,
    Op::I32Rotr,
];

/// The superinstruction of each prefix (const; local.get; local.get const; local.get
/// local.get) and operator.
const FUSED: [[Op; 11]; 4] = [
    [
        Op::CAdd,
        Op::CSub,
        Op::CMul,
        Op::CAnd,
        Op::COr,
        Op::CXor,
        Op::CShl,
        Op::CShrS,
        Op::CShrU,
        Op::CRotl,
        Op::CRotr,
    ],
    [
        Op::LAdd,
        Op::LSub,
        Op::LMul,
        Op::LAnd,
        Op::LOr,
        Op::LXor,
        Op::LShl,
        Op::LShrS,
        Op::LShrU,
        Op::LRotl,
        Op::LRotr,
    ],
    [
        Op::LcAdd,
        Op::LcSub,
        Op::LcMul,
        Op::LcAnd,
        Op::LcOr,
        Op::LcXor,
        Op::LcShl,
        Op::LcShrS,
        Op::LcShrU,
        Op::LcRotl,
        Op::LcRotr,
    ],
    [
        Op::LlAdd,
        Op::LlSub,
        Op::LlMul,
        Op::LlAnd,
        Op::LlOr,
        Op::LlXor,
        Op::LlShl,
        Op::LlShrS,
        Op::LlShrU,
        Op::LlRotl,
        Op::LlRotr,
    ],
];

#[derive(Clone, Copy)]
enum Prefix {
    Const = 0,
    Local = 1,
    LocalConst = 2,
    LocalLocal = 3,
}

fn fused(prefix: Prefix, op: Op) -> Option<Op> {
    let column = BINOPS.iter().position(|b| *b == op)?;
    Some(FUSED[prefix as usize][column])
}

/// The code with superinstructions at the start of every sequence they cover.
pub(crate) fn fuse(code: &[Inst]) -> Vec<Inst> {
    let mut exec = code.to_vec();
    for pc in 0..code.len() {
        let op = |k: usize| code.get(pc + k).map(|i| i.op);
        let (first, second) = (code[pc], code.get(pc + 1).copied());
        let superinstruction = match (op(0), op(1), op(2)) {
            (Some(Op::LocalGet), Some(Op::Const), Some(bin)) => {
                fused(Prefix::LocalConst, bin).map(|f| (f, first.a, second.map_or(0, |s| s.b)))
            }
            (Some(Op::LocalGet), Some(Op::LocalGet), Some(bin)) => fused(Prefix::LocalLocal, bin)
                .map(|f| (f, first.a, second.map_or(0, |s| s.a as u64))),
            _ => None,
        }
        .or_else(|| match (op(0), op(1)) {
            (Some(Op::LocalGet), Some(bin)) => fused(Prefix::Local, bin).map(|f| (f, first.a, 0)),
            (Some(Op::Const), Some(bin)) => fused(Prefix::Const, bin).map(|f| (f, 0, first.b)),
            _ => None,
        });
        if let Some((op, a, b)) = superinstruction {
            exec[pc] = Inst { op, aux: 0, a, b };
        }
    }
    exec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_instruction_of_a_sequence_changes() {
        let local = |a| Inst {
            op: Op::LocalGet,
            aux: 1,
            a,
            b: 0,
        };
        let code = [
            local(3),
            Inst::constant(7),
            Inst::new(Op::I32Rotl),
            local(1),
            local(2),
            Inst::new(Op::I32Xor),
            Inst::constant(5),
            Inst::new(Op::I32Add),
            Inst::new(Op::I32DivU),
        ];
        let exec = fuse(&code);
        assert_eq!((exec[0].op, exec[0].a, exec[0].b), (Op::LcRotl, 3, 7));
        assert_eq!(exec[1].op, Op::CRotl, "a jump to the const fuses too");
        assert_eq!(exec[2], code[2]);
        assert_eq!((exec[3].op, exec[3].a, exec[3].b), (Op::LlXor, 1, 2));
        assert_eq!((exec[4].op, exec[4].a), (Op::LXor, 2));
        assert_eq!((exec[6].op, exec[6].b), (Op::CAdd, 5));
        assert_eq!(exec[7], code[7]);
        assert_eq!(exec[8], code[8], "division can trap: never fused");
        assert!(
            exec.iter()
                .all(|i| Op::from_u16(i.op as u16).is_some() || i.op as u16 >= 0x100)
        );
        assert!(
            Op::from_u16(Op::LcRotl as u16).is_none(),
            "never decoded from a program"
        );
    }
}
