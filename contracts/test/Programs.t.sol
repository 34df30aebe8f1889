// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IExecution} from "../interfaces/IExecution.sol";
import {Fixtures} from "./utils/Fixtures.sol";

/// @notice The example programs' step functions produce ECM's outputs (and the standard
/// digests), take the documented number of steps, and halt on malformed states.
contract ProgramsTest is Fixtures {
    /// @dev Runs `program` on `input` until final (at most `limit` steps).
    function _run(IExecution program, bytes memory input, uint256 limit)
        internal
        view
        returns (bytes memory state, uint256 steps)
    {
        state = input;
        bool final_;
        while (!final_) {
            ++steps;
            require(steps <= limit, "no final state within the limit");
            (state, final_) = program.step(steps, state);
        }
    }

    function _le(uint256 v) internal pure returns (bytes memory out) {
        uint256 length;
        for (uint256 x = v; x != 0; x >>= 8) {
            ++length;
        }
        out = new bytes(length);
        for (uint256 j = 0; j < length; ++j) {
            out[j] = bytes1(uint8(v >> (8 * j)));
        }
    }

    function test_fibonacci_EcmValues() public view {
        uint256[11] memory expected = [uint256(1), 1, 2, 3, 5, 8, 13, 21, 34, 55, 89];
        for (uint256 n = 0; n <= 10; ++n) {
            (bytes memory result, uint256 steps) = _run(fibonacci, _le(n), 1000);
            vm.assertEq(result, _le(expected[n]), "F(n)");
            vm.assertEq(steps, n + 1, "n + 1 steps");
        }
    }

    function test_fibonacci_LargeN() public view {
        (bytes memory r60, uint256 s60) = _run(fibonacci, _le(60), 1000);
        vm.assertEq(r60, _le(2504730781961));
        vm.assertEq(s60, 61);
        (bytes memory r299, uint256 s299) = _run(fibonacci, _le(299), 1000);
        vm.assertEq(r299, _le(0x8a4ba39e1a1741497bbbef460a25486ee575f510e921b33e2e10));
        vm.assertEq(s299, 300);
    }

    function test_fibonacci_InputParsesLittleEndianOfAnyLength() public view {
        // 5 as two bytes (non-minimal) and as a 32-byte word both mean n = 5.
        (bytes memory a,) = _run(fibonacci, hex"0500", 100);
        (bytes memory b,) = _run(fibonacci, abi.encodePacked(bytes1(0x05), bytes31(0)), 100);
        vm.assertEq(a, _le(8));
        vm.assertEq(b, _le(8));
    }

    function test_fibonacci_StateCarriesN() public view {
        (bytes memory s1, bool f1) = fibonacci.step(1, _le(3));
        vm.assertFalse(f1);
        vm.assertEq(s1.length, 96);
        vm.assertEq(s1, abi.encodePacked(bytes32(0), bytes32(uint256(1) << 248), bytes32(uint256(3) << 248)));
    }

    function test_fibonacci_MalformedStateHalts() public view {
        (bytes memory next, bool final_) = fibonacci.step(2, hex"0102");
        vm.assertEq(next, "");
        vm.assertTrue(final_);
    }

    function test_buildByteArray_EcmValues() public view {
        (bytes memory abc, uint256 s3) = _run(buildByteArray, "abc", 10);
        vm.assertEq(abc, hex"010203");
        vm.assertEq(s3, 3);
        (bytes memory empty, uint256 s0) = _run(buildByteArray, "", 10);
        vm.assertEq(empty, hex"01");
        vm.assertEq(s0, 1);
        (bytes memory one, uint256 s1) = _run(buildByteArray, "z", 10);
        vm.assertEq(one, hex"01");
        vm.assertEq(s1, 1);
    }

    function test_buildByteArray_BytesWrapModulo256() public view {
        (bytes memory long, uint256 steps) = _run(buildByteArray, new bytes(300), 400);
        vm.assertEq(steps, 300);
        for (uint256 k = 1; k <= 300; ++k) {
            vm.assertEq(uint8(long[k - 1]), k % 256);
        }
    }

    function test_buildByteArray_KeepsInputLengthInState() public view {
        (bytes memory s1, bool f1) = buildByteArray.step(1, "abcd");
        vm.assertEq(s1, hex"01626364");
        vm.assertFalse(f1);
    }

    function test_buildByteArray_MalformedStateHalts() public view {
        (bytes memory next, bool final_) = buildByteArray.step(10, "abc");
        vm.assertEq(next, "");
        vm.assertTrue(final_);
    }

    function test_counter_CountsToN() public view {
        (bytes memory result, uint256 steps) = _run(counter, _counterInput(7), 100);
        vm.assertEq(result, _counterResult(7));
        vm.assertEq(steps, 7);
        (bytes memory zero, uint256 s0) = _run(counter, _counterInput(0), 100);
        vm.assertEq(zero, _counterResult(0));
        vm.assertEq(s0, 1);
    }

    function test_counter_MalformedStateHalts() public view {
        (bytes memory a, bool fa) = counter.step(1, hex"01");
        (bytes memory b, bool fb) = counter.step(2, _counterInput(5));
        vm.assertEq(a, "");
        vm.assertTrue(fa);
        vm.assertEq(b, "");
        vm.assertTrue(fb);
    }

    function test_keccakChain_HashesNTimes() public view {
        bytes32 seed = keccak256("seed");
        (bytes memory result, uint256 steps) = _run(keccakChain, abi.encodePacked(_u64le(3), seed), 10);
        vm.assertEq(
            result,
            abi.encodePacked(
                keccak256(abi.encodePacked(keccak256(abi.encodePacked(keccak256(abi.encodePacked(seed))))))
            )
        );
        vm.assertEq(steps, 3);
    }

    function test_keccakChain_MalformedStateHalts() public view {
        (bytes memory next, bool final_) = keccakChain.step(1, hex"00");
        vm.assertEq(next, "");
        vm.assertTrue(final_);
    }

    function test_blake2b_StandardDigests() public view {
        (bytes memory abc, uint256 s1) = _run(blake2b, "abc", 10);
        vm.assertEq(
            abc,
            hex"ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"
        );
        vm.assertEq(s1, 1);
        (bytes memory empty,) = _run(blake2b, "", 10);
        vm.assertEq(
            empty,
            hex"786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce"
        );
    }

    function test_blake2b_OneBlockPerStep() public view {
        bytes memory message = new bytes(512);
        for (uint256 j = 0; j < 512; ++j) {
            message[j] = bytes1(uint8(j));
        }
        (bytes memory digest, uint256 steps) = _run(blake2b, message, 10);
        vm.assertEq(steps, 4);
        vm.assertEq(
            digest,
            hex"c59ab1095ca4579525338b6b74689ff234bc3fe9765fe26dfb04ddceaee0ab84dfd8967594cb261fcd88687f4454d80f718116c1b3c32f9f7e169357468cbe67"
        );
    }

    function test_blake2b_MalformedStateHalts() public view {
        (bytes memory next, bool final_) = blake2b.step(2, new bytes(71));
        vm.assertEq(next, "");
        vm.assertTrue(final_);
    }

    /// @dev Every program's step stays within the step gas it is registered with, on its
    /// heaviest documented state.
    function test_stepGas_WithinRegisteredBudget() public view {
        counter.step(2, _counterResult(1));
        _assertLastCallWithin(COUNTER_STEP_GAS);
        fibonacci.step(
            3, abi.encodePacked(bytes32(type(uint256).max), bytes32(type(uint256).max), bytes32(type(uint256).max))
        );
        _assertLastCallWithin(FIBONACCI_STEP_GAS);
        keccakChain.step(1, abi.encodePacked(_u64le(5), bytes32(0)));
        _assertLastCallWithin(KECCAK_CHAIN_STEP_GAS);
        buildByteArray.step(8192, new bytes(8192));
        _assertLastCallWithin(BUILD_BYTE_ARRAY_STEP_GAS);
        blake2b.step(2, new bytes(8192));
        _assertLastCallWithin(BLAKE2B_STEP_GAS);
    }

    function _assertLastCallWithin(uint256 budget) internal view {
        uint256 used = vm.lastCallGas().gasTotalUsed;
        vm.assertGt(used, 0);
        vm.assertLe(used, budget, "step gas above the registered maxStepGas");
    }
}
