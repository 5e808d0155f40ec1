/*
 * board_init.c - NUCLEO-F746ZG: clocks and pins for the ST-LINK virtual COM
 * port (USART3 on PD8 = TX, PD9 = RX, alternate function 7).
 *
 * The core stays on the 16 MHz HSI it boots from: the serial protocol does
 * not need speed, DWT timing is in cycles either way, and flash needs no
 * extra wait states at 16 MHz.
 */
#include <stdint.h>

#define FW_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

#define FW_RCC_AHB1ENR 0x40023830u
#define FW_RCC_APB1ENR 0x40023840u
#define FW_RCC_AHB1ENR_GPIODEN (1u << 3)
#define FW_RCC_APB1ENR_USART3EN (1u << 18)

#define FW_GPIOD_MODER 0x40020C00u
#define FW_GPIOD_OSPEEDR 0x40020C08u
#define FW_GPIOD_AFRH 0x40020C24u

#define FW_PIN_TX 8u
#define FW_PIN_RX 9u
#define FW_MODE_ALTERNATE 2u
#define FW_SPEED_HIGH 2u
#define FW_AF_USART3 7u

void fw_board_init(void);

static void fw_pin_alternate(uint32_t pin)
{
    uint32_t moder = FW_REG(FW_GPIOD_MODER) & ~(3u << (2u * pin));
    uint32_t afrh = FW_REG(FW_GPIOD_AFRH) & ~(0xFu << (4u * (pin - 8u)));

    FW_REG(FW_GPIOD_AFRH) = afrh | (FW_AF_USART3 << (4u * (pin - 8u)));
    FW_REG(FW_GPIOD_OSPEEDR) |= FW_SPEED_HIGH << (2u * pin);
    FW_REG(FW_GPIOD_MODER) = moder | (FW_MODE_ALTERNATE << (2u * pin));
}

void fw_board_init(void)
{
    FW_REG(FW_RCC_AHB1ENR) |= FW_RCC_AHB1ENR_GPIODEN;
    FW_REG(FW_RCC_APB1ENR) |= FW_RCC_APB1ENR_USART3EN;
    (void)FW_REG(FW_RCC_APB1ENR); /* read back: the clock needs two cycles to start */
    fw_pin_alternate(FW_PIN_TX);
    fw_pin_alternate(FW_PIN_RX);
}
